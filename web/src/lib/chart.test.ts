import { describe, expect, it } from "vitest";
import { areaPath, linePath, niceCeiling, scalePoints } from "./chart.ts";

describe("niceCeiling", () => {
  it.each([
    [0, 1],
    [0.3, 0.5],
    [1, 1],
    [1.2, 2],
    [3, 5],
    [7, 10],
    [42, 50],
    [180, 200],
    [1001, 2000],
  ])("puts %d under a round %d", (value, ceiling) => {
    expect(niceCeiling(value)).toBeCloseTo(ceiling);
  });

  it("falls back to 1 for nothing to show", () => {
    expect(niceCeiling(Number.NaN)).toBe(1);
    expect(niceCeiling(-5)).toBe(1);
  });
});

describe("scalePoints", () => {
  const box = { width: 100, height: 50, max: 10, capacity: 5 };

  it("maps zero to the baseline and the maximum to the top", () => {
    expect(scalePoints([0, 10], { ...box, capacity: 2 })).toEqual([
      [0, 50],
      [100, 0],
    ]);
  });

  it("draws a short history at the right edge, the newest sample last", () => {
    expect(scalePoints([5, 10], box)).toEqual([
      [75, 25],
      [100, 0],
    ]);
  });

  it("clamps values outside the axis", () => {
    expect(scalePoints([-1, 20], { ...box, capacity: 2 })).toEqual([
      [0, 50],
      [100, 0],
    ]);
  });
});

describe("paths", () => {
  it("joins the points into a line and closes the area down to the baseline", () => {
    const points: Array<[number, number]> = [
      [0, 40],
      [50, 10],
    ];
    expect(linePath(points)).toBe("M0 40 L50 10");
    expect(areaPath(points, 50)).toBe("M0 40 L50 10 L50 50 L0 50 Z");
    expect(areaPath([], 50)).toBe("");
  });
});
