/**
 * Draws the bench's key curves as SVG from the JSON document it wrote (`--out FILE`):
 *
 *   node bench/plot.ts bench.json [more.json …] --dir docs/images
 *
 * - `bench-e2e-open-loop.svg`: shipped orders/s and p99 latency against the offered rate, with
 *   tracing off and on (section c);
 * - `bench-fanout.svg`: gateway CPU and delivery lag p99 against the number of subscribers
 *   (section e).
 *
 * Plain SVG, no dependency: axes, grid, one polyline per series, a legend. A chart whose section
 * is in none of the documents is not drawn.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

interface Series {
  name: string;
  color: string;
  points: Array<[x: number, y: number]>;
}

interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** A logarithmic y axis (latencies span orders of magnitude). */
  isLogY?: boolean;
  isLogX?: boolean;
}

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = { left: 64, right: 16, top: 36, bottom: 48 };

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Round numbers for an axis between `min` and `max`: about five of them. */
function ticks(min: number, max: number, isLog: boolean): number[] {
  if (isLog) {
    const out: number[] = [];
    for (let p = Math.floor(Math.log10(min)); p <= Math.ceil(Math.log10(max)); p += 1) {
      out.push(10 ** p);
    }
    return out;
  }
  const step = 10 ** Math.floor(Math.log10((max - min) / 5 || 1));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (max - min) / s <= 6) ?? step * 10;
  const out: number[] = [];
  for (let t = Math.ceil(min / nice) * nice; t <= max + 1e-9; t += nice) out.push(t);
  return out;
}

function label(value: number): string {
  return value >= 1000 ? `${value / 1000}k` : String(Math.round(value * 100) / 100);
}

/** One chart as an SVG document. */
export function renderChart(chart: Chart): string {
  const all = chart.series.flatMap((s) => s.points);
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y).filter((y) => !chart.isLogY || y > 0);
  const scale = (isLog: boolean | undefined, lo: number, hi: number, from: number, to: number) => {
    const f = (v: number) => (isLog ? Math.log10(Math.max(v, lo)) : v);
    const [a, b] = [f(lo), f(hi) === f(lo) ? f(lo) + 1 : f(hi)];
    return (v: number) => from + ((f(v) - a) / (b - a)) * (to - from);
  };
  const xMin = chart.isLogX ? Math.min(...xs) : 0;
  const xMax = Math.max(...xs);
  const yMin = chart.isLogY ? Math.min(...ys) : 0;
  const yMax = Math.max(...ys) * 1.05;
  const x = scale(chart.isLogX, xMin, xMax, MARGIN.left, WIDTH - MARGIN.right);
  const y = scale(chart.isLogY, yMin, yMax, HEIGHT - MARGIN.bottom, MARGIN.top);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  for (const t of ticks(yMin, yMax, chart.isLogY ?? false)) {
    if (t < yMin || t > yMax) continue;
    const py = y(t);
    if (py < MARGIN.top - 1 || py > HEIGHT - MARGIN.bottom + 1) continue;
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${py}" y2="${py}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 6}" y="${py + 4}" text-anchor="end">${label(t)}</text>`,
    );
  }
  for (const t of ticks(xMin, xMax, chart.isLogX ?? false)) {
    if (t < xMin || t > xMax) continue;
    const px = x(t);
    if (px < MARGIN.left - 1 || px > WIDTH - MARGIN.right + 1) continue;
    parts.push(
      `<line x1="${px}" x2="${px}" y1="${HEIGHT - MARGIN.bottom}" y2="${HEIGHT - MARGIN.bottom + 4}" stroke="#333"/>`,
      `<text x="${px}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${label(t)}</text>`,
    );
  }
  parts.push(
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${HEIGHT - MARGIN.bottom}" y2="${HEIGHT - MARGIN.bottom}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${HEIGHT - MARGIN.bottom}" stroke="#333"/>`,
    `<text x="${WIDTH / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`,
    `<text transform="translate(14 ${HEIGHT / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`,
  );
  chart.series.forEach((series, index) => {
    const points = series.points.filter(([, py]) => !chart.isLogY || py > 0);
    const path = points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(" ");
    parts.push(
      `<polyline fill="none" stroke="${series.color}" stroke-width="2" points="${path}"/>`,
    );
    for (const [px, py] of points) {
      parts.push(
        `<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3" fill="${series.color}"/>`,
      );
    }
    const ly = MARGIN.top + 6 + index * 16;
    parts.push(
      `<rect x="${MARGIN.left + 10}" y="${ly - 8}" width="12" height="4" fill="${series.color}"/>`,
      `<text x="${MARGIN.left + 28}" y="${ly - 3}">${escapeXml(series.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

interface BenchDocument {
  sections: Array<{ section: string; results: unknown }>;
}
interface OpenLoopRow {
  offeredPerSecond: number;
  shippedPerSecond: number;
  latencyMs: { p99: number };
}
interface FanoutRow {
  subscribers: number;
  ordersPerSecond: number;
  gatewayCpuPercent: number;
  deliveryLagMs: { p99: number };
}

/** The charts the documents have data for, by file name. */
export function chartsOf(documents: readonly BenchDocument[]): Map<string, Chart> {
  const charts = new Map<string, Chart>();
  const sections = documents.flatMap((document) => document.sections);
  const e2e = sections.find((s) => s.section === "e2e" && Array.isArray(s.results));
  if (e2e) {
    const runs = e2e.results as Array<{ tracing: boolean; openLoop: OpenLoopRow[] }>;
    const colors = { off: ["#1f77b4", "#aec7e8"], on: ["#d62728", "#ff9896"] };
    charts.set("bench-e2e-open-loop-throughput.svg", {
      title: "End to end, open loop: shipped orders/s against the offered rate",
      xLabel: "offered orders/s",
      yLabel: "shipped orders/s",
      series: runs.map((run) => ({
        name: `tracing ${run.tracing ? "on" : "off"}`,
        color: colors[run.tracing ? "on" : "off"][0] as string,
        points: run.openLoop.map((r) => [r.offeredPerSecond, r.shippedPerSecond]),
      })),
    });
    charts.set("bench-e2e-open-loop-latency.svg", {
      title: "End to end, open loop: p99 latency (placeOrder → shipment seen), log scale",
      xLabel: "offered orders/s",
      yLabel: "p99 ms",
      isLogY: true,
      series: runs.map((run) => ({
        name: `tracing ${run.tracing ? "on" : "off"}`,
        color: colors[run.tracing ? "on" : "off"][0] as string,
        points: run.openLoop.map((r) => [r.offeredPerSecond, r.latencyMs.p99]),
      })),
    });
  }
  const fanout = sections.find((s) => s.section === "fanout" && Array.isArray(s.results));
  if (fanout) {
    const rows = fanout.results as FanoutRow[];
    const rates = [...new Set(rows.map((r) => r.ordersPerSecond))];
    const palette = ["#2ca02c", "#9467bd", "#8c564b"];
    charts.set("bench-fanout-cpu.svg", {
      title: "Fan-out: gateway CPU against subscribers of `events`",
      xLabel: "subscribers (log scale)",
      yLabel: "gateway CPU, % of a core",
      isLogX: true,
      series: rates.map((rate, i) => ({
        name: `${rate} orders/s`,
        color: palette[i % palette.length] as string,
        points: rows
          .filter((r) => r.ordersPerSecond === rate)
          .map((r) => [r.subscribers, r.gatewayCpuPercent]),
      })),
    });
    charts.set("bench-fanout-lag.svg", {
      title: "Fan-out: delivery lag p99 against subscribers, log scales",
      xLabel: "subscribers (log scale)",
      yLabel: "lag p99 ms",
      isLogX: true,
      isLogY: true,
      series: rates.map((rate, i) => ({
        name: `${rate} orders/s`,
        color: palette[i % palette.length] as string,
        points: rows
          .filter((r) => r.ordersPerSecond === rate)
          .map((r) => [r.subscribers, r.deliveryLagMs.p99]),
      })),
    });
  }
  return charts;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { dir: { type: "string", default: "docs/images" } },
  });
  const documents = positionals.map(
    (file) => JSON.parse(readFileSync(file, "utf8")) as BenchDocument,
  );
  for (const [name, chart] of chartsOf(documents)) {
    writeFileSync(join(values.dir, name), renderChart(chart));
    process.stderr.write(`wrote ${join(values.dir, name)}\n`);
  }
}
