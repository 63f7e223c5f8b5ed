import { parseEnv } from "@conveyor/runtime";
import { expect, it } from "vitest";
import { inventoryEnvShape } from "./env.ts";

it("defaults to health port 4101 and 1000 units of initial stock, and reads both from env", () => {
  expect(parseEnv(inventoryEnvShape, {})).toMatchObject({
    HEALTH_PORT: 4101,
    CATALOG_INITIAL_STOCK: 1000,
  });
  expect(
    parseEnv(inventoryEnvShape, { HEALTH_PORT: "0", CATALOG_INITIAL_STOCK: "20" }),
  ).toMatchObject({ HEALTH_PORT: 0, CATALOG_INITIAL_STOCK: 20 });
});
