/**
 * The telemetry bootstrap, loaded before the app: `node --import @conveyor/telemetry/register
 * src/main.ts`. It installs the ES-module hook that lets instrumentations patch what the app
 * imports (only the modules they ask for), then starts the SDK.
 */
import { register } from "node:module";
import { createAddHookMessageChannel } from "import-in-the-middle";
import { serviceNameOf } from "./service-name.ts";
import { startTelemetry } from "./start.ts";

const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register("import-in-the-middle/hook.mjs", import.meta.url, registerOptions);

startTelemetry({ OTEL_SERVICE_NAME: serviceNameOf(process.argv[1]), ...process.env });

await waitForAllMessagesAcknowledged();
