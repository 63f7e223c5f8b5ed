import { describe, expect, it } from "vitest";
import {
  formatAgo,
  formatCount,
  formatDuration,
  formatMoney,
  formatRate,
  formatSincePrevious,
} from "./format.ts";

describe("formatSincePrevious", () => {
  it("says nothing for the first step", () => {
    expect(formatSincePrevious("2026-01-01T00:00:00.000Z", undefined)).toBeUndefined();
  });

  it("gives the time since the previous step with a plus sign", () => {
    expect(formatSincePrevious("2026-01-01T00:00:00.120Z", "2026-01-01T00:00:00.000Z")).toBe(
      "+120 ms",
    );
    expect(formatSincePrevious("2026-01-01T00:00:02.450Z", "2026-01-01T00:00:00.000Z")).toBe(
      "+2.4 s",
    );
  });

  it("shows clock skew between services as zero, never a negative time", () => {
    expect(formatSincePrevious("2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.005Z")).toBe(
      "+0 ms",
    );
  });

  it("ignores timestamps it cannot read", () => {
    expect(formatSincePrevious("yesterday", "2026-01-01T00:00:00.000Z")).toBeUndefined();
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0 ms"],
    [999, "999 ms"],
    [1000, "1.0 s"],
    [9_999, "9.9 s"],
    [42_000, "42 s"],
    [185_000, "3 min 5 s"],
    [180_000, "3 min"],
    [7_440_000, "2 h 4 min"],
  ])("%d ms reads %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("numbers", () => {
  it("formats money from integer cents", () => {
    expect(formatMoney({ amountCents: 20997, currency: "USD" })).toBe("$209.97");
    expect(formatMoney({ amountCents: 5, currency: "USD" })).toBe("$0.05");
  });

  it("abbreviates large counts and rates", () => {
    expect(formatCount(999)).toBe("999");
    expect(formatCount(1500)).toBe("1.5k");
    expect(formatCount(34_400)).toBe("34k");
    expect(formatCount(2_000_000)).toBe("2M");
    expect(formatRate(0)).toBe("0");
    expect(formatRate(0.45)).toBe("0.5");
    expect(formatRate(12.4)).toBe("12");
  });

  it("says how long ago", () => {
    const now = Date.parse("2026-01-01T12:00:00.000Z");
    expect(formatAgo("2026-01-01T11:59:58.000Z", now)).toBe("just now");
    expect(formatAgo("2026-01-01T11:59:30.000Z", now)).toBe("30 s ago");
    expect(formatAgo("2026-01-01T11:00:00.000Z", now)).toBe("1 h ago");
  });
});
