import { createKeys, type Keys } from "@conveyor/contract";
import { uniquePrefix } from "@conveyor/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeEach, describe, expect, inject, it } from "vitest";
import { carrierFor } from "./carriers.ts";
import { createShipmentOnce } from "./ledger.ts";

const redisUrl = inject("redisUrl");
const redis = new Redis(redisUrl);
afterAll(() => redis.quit());

let keys: Keys;
beforeEach(() => {
  keys = createKeys(uniquePrefix("shipment"));
});

describe("createShipmentOnce", () => {
  it("books a shipment with the order's carrier and records it", async () => {
    const shipment = await createShipmentOnce(redis, keys, "o-1");
    expect(shipment).toEqual({
      shipmentId: expect.stringMatching(/^shp_/),
      carrier: carrierFor("o-1"),
      trackingNumber: expect.any(String),
      createdAt: expect.any(String),
    });
    expect(JSON.parse((await redis.get(keys.shipment("o-1"))) ?? "")).toEqual(shipment);
  });

  it("returns the first shipment to every redelivery and racing replica", async () => {
    const connections = Array.from({ length: 4 }, () => new Redis(redisUrl));
    try {
      const first = await createShipmentOnce(redis, keys, "o-1");
      const racing = await Promise.all(
        [...connections, ...connections].map((connection) =>
          createShipmentOnce(connection, keys, "o-1"),
        ),
      );
      for (const shipment of racing) expect(shipment).toEqual(first);
    } finally {
      await Promise.all(connections.map((connection) => connection.quit()));
    }
  });
});
