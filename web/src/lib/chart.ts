/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `value`. */
export function niceCeiling(value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= value - 1e-9) return step * power;
  }
  return 10 * power;
}

/** The drawing area of a chart, in SVG user units. */
export interface ChartBox {
  width: number;
  height: number;
  /** The value at the top edge (from {@link niceCeiling}). */
  max: number;
  /** How many samples the x axis holds; fewer samples are drawn right-aligned. */
  capacity: number;
}

/** The SVG points of a series (oldest first) scaled into the box: newest at the right edge. */
export function scalePoints(values: readonly number[], box: ChartBox): Array<[number, number]> {
  const { width, height, max, capacity } = box;
  const stepX = capacity > 1 ? width / (capacity - 1) : 0;
  const offset = capacity - values.length;
  return values.map((value, index) => {
    const clamped = Math.min(Math.max(value, 0), max);
    const x = (offset + index) * stepX;
    const y = height - (max > 0 ? (clamped / max) * height : 0);
    return [round(x), round(y)];
  });
}

const round = (value: number) => Math.round(value * 10) / 10;

/** An SVG path through the points (`M x y L x y …`), empty for none. */
export function linePath(points: ReadonlyArray<[number, number]>): string {
  return points.map(([x, y], index) => `${index === 0 ? "M" : "L"}${x} ${y}`).join(" ");
}

/** The same line closed down to the baseline, to fill the area under it. */
export function areaPath(points: ReadonlyArray<[number, number]>, height: number): string {
  const first = points[0];
  const last = points.at(-1);
  if (!first || !last) return "";
  return `${linePath(points)} L${last[0]} ${height} L${first[0]} ${height} Z`;
}
