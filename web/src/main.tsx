import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "urql";
import { App } from "./App.tsx";
import { createGatewayClient } from "./client/client.ts";
import { ConnectionContext } from "./client/connection-context.ts";
import "./styles.css";

const { client, monitor } = createGatewayClient();
const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");

createRoot(root).render(
  <StrictMode>
    <Provider value={client}>
      <ConnectionContext.Provider value={monitor}>
        <App />
      </ConnectionContext.Provider>
    </Provider>
  </StrictMode>,
);
