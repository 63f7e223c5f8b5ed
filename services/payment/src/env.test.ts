import { parseEnv } from "@conveyor/runtime";
import { expect, it } from "vitest";
import { paymentEnvShape } from "./env.ts";

it("defaults to health port 4102, 25 ms of processor latency and 256 charges in flight, and reads them from env", () => {
  expect(parseEnv(paymentEnvShape, {})).toMatchObject({
    HEALTH_PORT: 4102,
    PAYMENT_LATENCY_MS: 25,
    CONCURRENCY: 256,
  });
  expect(parseEnv(paymentEnvShape, { CONCURRENCY: "16" })).toMatchObject({ CONCURRENCY: 16 });
  expect(parseEnv(paymentEnvShape, { HEALTH_PORT: "9", PAYMENT_LATENCY_MS: "500" })).toMatchObject({
    HEALTH_PORT: 9,
    PAYMENT_LATENCY_MS: 500,
  });
});
