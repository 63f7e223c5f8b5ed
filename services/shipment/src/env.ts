import { workerEnvShape } from "@conveyor/runtime";
import type { z } from "zod";

/** The shipment service's settings: the worker's, on its own health port. */
export const shipmentEnvShape = {
  ...workerEnvShape,
  HEALTH_PORT: workerEnvShape.HEALTH_PORT.default(4103),
};

/** The parsed settings of the shipment service. */
export type ShipmentEnv = z.infer<z.ZodObject<typeof shipmentEnvShape>>;
