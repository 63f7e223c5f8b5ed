import { workerEnvShape } from "@conveyor/runtime";
import { z } from "zod";

/** The payment service's settings: the worker's, plus the simulated processor's latency. */
export const paymentEnvShape = {
  ...workerEnvShape,
  HEALTH_PORT: workerEnvShape.HEALTH_PORT.default(4102),
  /**
   * Charges in flight at once. A charge mostly waits on the processor, so the window, not the
   * CPU, sets throughput: at least target rate × latency × 1.25 (400/s at 500 ms needs 250).
   */
  CONCURRENCY: z.coerce.number().int().positive().default(256),
  /** How long each charge takes at the (simulated) card processor. */
  PAYMENT_LATENCY_MS: z.coerce.number().int().nonnegative().default(25),
};

/** The parsed settings of the payment service. */
export type PaymentEnv = z.infer<z.ZodObject<typeof paymentEnvShape>>;
