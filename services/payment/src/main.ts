import { createWorker, parseEnv, runUntilSignal } from "@conveyor/runtime";
import { paymentEnvShape } from "./env.ts";
import { createPaymentHandler, PAYMENT_STREAMS } from "./handler.ts";
import { createSimulatedProcessor } from "./processor.ts";

const env = parseEnv(paymentEnvShape);
const processor = createSimulatedProcessor({ latencyMs: env.PAYMENT_LATENCY_MS });
const worker = createWorker({
  name: "payment",
  env,
  streams: PAYMENT_STREAMS,
  createHandler: ({ redis, keys }) => createPaymentHandler({ redis, keys, processor }),
});
runUntilSignal(worker, worker.logger);
