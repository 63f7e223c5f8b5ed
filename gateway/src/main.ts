import { runUntilSignal } from "@conveyor/runtime";
import { loadGatewayEnv } from "./env.ts";
import { createGateway } from "./server.ts";

const gateway = createGateway({ env: loadGatewayEnv() });
runUntilSignal(gateway, gateway.logger);
