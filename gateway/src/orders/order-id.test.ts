import { describe, expect, it } from "vitest";
import { nextOrderId } from "./order-id.ts";

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe("nextOrderId", () => {
  it("makes distinct ULIDs that sort in the order they were made", () => {
    const ids = Array.from({ length: 10_000 }, () => nextOrderId());
    expect(ids.every((id) => ULID.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});
