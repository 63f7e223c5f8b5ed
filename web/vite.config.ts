import react from "@vitejs/plugin-react";
import { defineConfig, type ProxyOptions } from "vite";

/** Where the dev server and `vite preview` send `/graphql` (GraphQL, SSE, graphql-sse, GraphiQL). */
const gatewayUrl = process.env.GATEWAY_URL ?? "http://localhost:4000";

const graphqlProxy: Record<string, ProxyOptions> = {
  "/graphql": {
    target: gatewayUrl,
    changeOrigin: true,
    // Subscriptions are long-lived event streams: no proxy timeout, and tell any proxy in front
    // not to buffer them (the dev proxy itself pipes chunks through as they come).
    timeout: 0,
    proxyTimeout: 0,
    configure(proxy) {
      proxy.on("proxyRes", (response, _request, browserResponse) => {
        if (!String(response.headers["content-type"]).startsWith("text/event-stream")) return;
        response.headers["cache-control"] = "no-cache, no-transform";
        response.headers["x-accel-buffering"] = "no";
        // When the gateway goes away mid-stream, cut the browser's stream as well: left open,
        // the dashboard would wait on it forever instead of reconnecting and resuming.
        response.on("close", () => {
          if (!response.complete) browserResponse.destroy();
        });
      });
    },
  },
};

export default defineConfig({
  base: "/",
  plugins: [react()],
  server: { port: 5173, proxy: graphqlProxy },
  preview: { port: 4173, proxy: graphqlProxy },
  build: { outDir: "dist", sourcemap: true, target: "es2022" },
});
