import { parseEnv } from "@conveyor/runtime";
import { expect, it } from "vitest";
import { shipmentEnvShape } from "./env.ts";

it("defaults to health port 4103", () => {
  expect(parseEnv(shipmentEnvShape, {}).HEALTH_PORT).toBe(4103);
  expect(parseEnv(shipmentEnvShape, { HEALTH_PORT: "5000" }).HEALTH_PORT).toBe(5000);
});
