import { describe, expect, it } from "vitest";
import { readableReason, reasonOf, statusAfter } from "./events.ts";

describe("statusAfter", () => {
  it("follows the events to the order's status", () => {
    const types = ["order.created", "inventory.reserved", "payment.failed", "inventory.released"];
    expect(statusAfter([], "PENDING")).toBe("PENDING");
    expect(
      statusAfter(
        types.slice(0, 2).map((type) => ({ type })),
        "PENDING",
      ),
    ).toBe("RESERVED");
    // payment.failed alone does not cancel: the release of the stock does.
    expect(
      statusAfter(
        types.slice(0, 3).map((type) => ({ type })),
        "PENDING",
      ),
    ).toBe("RESERVED");
    expect(
      statusAfter(
        types.map((type) => ({ type })),
        "PENDING",
      ),
    ).toBe("CANCELLED");
  });
});

describe("reasonOf", () => {
  it("explains a rejection or a decline from the event's payload", () => {
    expect(
      reasonOf({
        type: "payment.failed",
        data: { reason: "CARD_DECLINED", message: "Your card was declined." },
      }),
    ).toBe("Card declined: Your card was declined.");
    expect(
      reasonOf({ type: "inventory.rejected", data: { reason: "INSUFFICIENT_STOCK", message: "" } }),
    ).toBe("Not enough stock");
    expect(reasonOf({ type: "inventory.released", data: { reason: "CARD_DECLINED" } })).toBe(
      "Card declined",
    );
  });

  it("has nothing to say about events that went well", () => {
    expect(reasonOf({ type: "shipment.created", data: { carrier: "UPS" } })).toBeUndefined();
  });
});

describe("readableReason", () => {
  it("turns a reason code into words and keeps the message", () => {
    expect(readableReason("CARD_DECLINED: Your card was declined.")).toBe(
      "Card declined: Your card was declined.",
    );
    expect(readableReason("INSUFFICIENT_STOCK")).toBe("Not enough stock");
    expect(readableReason("SOMETHING_NEW: details")).toBe("Something new: details");
    expect(readableReason("plain words")).toBe("plain words");
  });
});
