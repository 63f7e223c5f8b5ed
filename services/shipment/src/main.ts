import { createWorker, parseEnv, runUntilSignal } from "@conveyor/runtime";
import { shipmentEnvShape } from "./env.ts";
import { createShipmentHandler, SHIPMENT_STREAMS } from "./handler.ts";

const env = parseEnv(shipmentEnvShape);
const worker = createWorker({
  name: "shipment",
  env,
  streams: SHIPMENT_STREAMS,
  createHandler: createShipmentHandler,
});
runUntilSignal(worker, worker.logger);
