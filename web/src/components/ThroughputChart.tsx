import { areaPath, linePath, niceCeiling, scalePoints } from "../lib/chart.ts";
import { formatRate } from "../lib/format.ts";

/** One line of the chart: a service and its throughput samples, oldest first. */
export interface ChartSeries {
  name: string;
  values: readonly number[];
}

const WIDTH = 320;
const HEIGHT = 96;

/**
 * Events per second of each service over the last samples, as plain SVG lines. The y axis
 * scales to a round number above the highest value shown.
 */
export function ThroughputChart(props: {
  series: readonly ChartSeries[];
  capacity: number;
  intervalSeconds: number;
}) {
  const { series, capacity, intervalSeconds } = props;
  const peak = Math.max(0, ...series.flatMap((line) => line.values));
  const max = niceCeiling(peak);
  const box = { width: WIDTH, height: HEIGHT, max, capacity };
  const total = series.reduce((sum, line) => sum + (line.values.at(-1) ?? 0), 0);
  const spanSeconds = Math.round((capacity - 1) * intervalSeconds);
  const summary = `Throughput over the last ${spanSeconds} seconds: ${series
    .map((line) => `${line.name} ${formatRate(line.values.at(-1) ?? 0)} per second`)
    .join(", ")}; peak ${formatRate(peak)} per second.`;

  return (
    <figure className="chart">
      <figcaption className="chart-caption">
        <span>Throughput, events/s</span>
        <span className="chart-now">
          now <strong className="chart-now-value">{formatRate(total)}</strong>
        </span>
      </figcaption>
      <div className="chart-frame">
        <svg
          className="chart-svg"
          viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
          preserveAspectRatio="none"
          role="img"
          aria-label={summary}
        >
          {[0.25, 0.5, 0.75].map((fraction) => (
            <line
              key={fraction}
              className="chart-grid"
              x1={0}
              x2={WIDTH}
              y1={HEIGHT * fraction}
              y2={HEIGHT * fraction}
              vectorEffect="non-scaling-stroke"
            />
          ))}
          {series.map((line) => {
            const points = scalePoints(line.values, box);
            return (
              <g key={line.name} className="chart-series" data-service={line.name}>
                <path className="chart-area" d={areaPath(points, HEIGHT)} />
                <path
                  className="chart-line"
                  d={linePath(points)}
                  vectorEffect="non-scaling-stroke"
                />
              </g>
            );
          })}
        </svg>
        <span className="chart-axis chart-axis-top">{formatRate(max)}</span>
        <span className="chart-axis chart-axis-bottom">0</span>
      </div>
      <div className="chart-footer">
        <span className="muted small">−{spanSeconds} s</span>
        <ul className="chart-legend" aria-hidden="true">
          {series.map((line) => (
            <li key={line.name} data-service={line.name}>
              <span className="legend-swatch" />
              {line.name}
            </li>
          ))}
        </ul>
        <span className="muted small">now</span>
      </div>
    </figure>
  );
}
