import { useEffect, useState } from "react";
import { useQuery } from "urql";
import { describeError } from "../lib/errors.ts";
import { formatAgo, formatCount, formatRate } from "../lib/format.ts";
import { useInterval, useLastKnown, useNow } from "../lib/hooks.ts";
import { type HealthReport, PipelineHealthQuery } from "../operations.ts";
import { type ChartSeries, ThroughputChart } from "./ThroughputChart.tsx";
import { EmptyState, ErrorNote, Panel } from "./ui.tsx";

const POLL_MS = 2000;
/** Samples the chart holds: a minute at one per poll. */
const CHART_CAPACITY = 30;

/** The order services read in, for a stable table and legend. */
const SERVICE_ORDER = ["inventory", "payment", "shipment", "gateway"];
const rank = (name: string) => {
  const index = SERVICE_ORDER.indexOf(name);
  return index === -1 ? SERVICE_ORDER.length : index;
};

interface Sample {
  sampledAt: string;
  throughput: Record<string, number>;
}

/** Adds a report to the chart's history (once per `sampledAt`), keeping the newest samples. */
export function addSample(
  history: readonly Sample[],
  report: HealthReport,
  capacity: number,
): Sample[] {
  if (history.at(-1)?.sampledAt === report.sampledAt) return history as Sample[];
  const throughput = Object.fromEntries(
    report.services.map((service) => [service.name, service.throughputPerSecond]),
  );
  return [...history, { sampledAt: report.sampledAt, throughput }].slice(-capacity);
}

/** Per service lines of the chart, in {@link SERVICE_ORDER}. */
export function seriesOf(history: readonly Sample[]): ChartSeries[] {
  const names = [...new Set(history.flatMap((sample) => Object.keys(sample.throughput)))].sort(
    (a, b) => rank(a) - rank(b) || a.localeCompare(b),
  );
  return names.map((name) => ({
    name,
    values: history.map((sample) => sample.throughput[name] ?? 0),
  }));
}

function Stat(props: { label: string; value: string; tone?: "danger" | undefined; hint?: string }) {
  return (
    <div className="stat" data-tone={props.tone}>
      <dt>{props.label}</dt>
      <dd>
        {props.value}
        {props.hint ? <span className="stat-hint"> {props.hint}</span> : null}
      </dd>
    </div>
  );
}

/** Consumers, pending, lag and throughput of each service, polled, with a throughput chart. */
export function HealthPanel() {
  const [result, refetch] = useQuery({ query: PipelineHealthQuery, requestPolicy: "network-only" });
  const [history, setHistory] = useState<Sample[]>([]);
  const now = useNow(1000);
  useInterval(() => refetch({ requestPolicy: "network-only" }), POLL_MS);

  const report = useLastKnown(result.data)?.pipelineHealth;
  useEffect(() => {
    if (report) setHistory((current) => addSample(current, report, CHART_CAPACITY));
  }, [report]);

  const services = [...(report?.services ?? [])].sort(
    (a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name),
  );
  const totals = services.reduce(
    (sum, service) => ({
      pending: sum.pending + service.pending,
      lag: sum.lag + (service.lag ?? 0),
      throughput: sum.throughput + service.throughputPerSecond,
    }),
    { pending: 0, lag: 0, throughput: 0 },
  );

  return (
    <Panel
      id="health"
      title="Pipeline health"
      subtitle={
        report ? (
          <>
            Sampled <time dateTime={report.sampledAt}>{formatAgo(report.sampledAt, now)}</time>,
            every {POLL_MS / 1000} s
          </>
        ) : (
          "Consumer groups on the event streams"
        )
      }
    >
      {result.error && !report ? (
        <ErrorNote {...(describeError(result.error)[0] ?? { message: "Health unavailable" })} />
      ) : null}
      {!report && !result.error ? <EmptyState title="Reading the streams…" /> : null}
      {report ? (
        <>
          <dl className="stats">
            <Stat label="Throughput" value={formatRate(totals.throughput)} hint="/s" />
            <Stat label="Pending" value={formatCount(totals.pending)} />
            <Stat label="Lag" value={formatCount(totals.lag)} />
            <Stat
              label="Dead letters"
              value={formatCount(report.deadLetterCount)}
              tone={report.deadLetterCount > 0 ? "danger" : undefined}
            />
          </dl>
          <ThroughputChart
            series={seriesOf(history)}
            // A short history spans the whole width; past a minute the chart scrolls.
            capacity={Math.min(CHART_CAPACITY, Math.max(history.length, 2))}
            intervalSeconds={POLL_MS / 1000}
          />
          <div className="table-scroll">
            <table className="table health-table">
              <caption className="visually-hidden">Services</caption>
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col" className="numeric">
                    Consumers
                  </th>
                  <th scope="col" className="numeric">
                    Pending
                  </th>
                  <th scope="col" className="numeric">
                    Lag
                  </th>
                  <th scope="col" className="numeric">
                    Events/s
                  </th>
                </tr>
              </thead>
              <tbody>
                {services.map((service) => (
                  <tr key={service.name} data-service={service.name}>
                    <th scope="row">
                      <span className="service-name">
                        <span
                          className="health-dot"
                          data-state={service.consumers > 0 ? "up" : "down"}
                          aria-hidden="true"
                        />
                        {service.name}
                      </span>
                    </th>
                    <td className="numeric">{service.consumers}</td>
                    <td className="numeric">{formatCount(service.pending)}</td>
                    <td className="numeric">
                      {service.lag === null ? "—" : formatCount(service.lag)}
                    </td>
                    <td className="numeric">{formatRate(service.throughputPerSecond)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </Panel>
  );
}
