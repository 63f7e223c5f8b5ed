/**
 * What tracing exports per order: starts the system with tracing on (the bench's processes,
 * exporting over OTLP to a receiver here that decodes every export), runs a closed loop, and
 * prints the spans per shipped order by process, instrumentation scope, kind and name (roots
 * marked), and the CPU milliseconds per order of every process.
 *
 *   node bench/span-census.ts [--clients 16] [--seconds 5] [--json] [--profile DIR]
 *
 * `--env NAME=value` (repeatable) gives every app one more setting, to see what it changes
 * (`--env OTEL_BSP_MAX_EXPORT_BATCH_SIZE=2048`).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { decodeOtlpTraces } from "../services/testkit/src/otlp-receiver.ts";
import { startRedisServer } from "../services/testkit/src/redis-server.ts";
import {
  runClosedLoop,
  settle,
  startBenchSystem,
  trackShipments,
  warmUp,
} from "./lib/end-to-end.ts";
import { createGatewayClient } from "./lib/gateway-client.ts";
import { cpuSnapshot } from "./lib/measure.ts";

const { values: flags } = parseArgs({
  options: {
    clients: { type: "string", default: "16" },
    seconds: { type: "string", default: "5" },
    json: { type: "boolean", default: false },
    env: { type: "string", multiple: true, default: [] },
    profile: { type: "string" },
  },
});

const KINDS = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"];

/** Counts the spans of every export by process · scope · kind · name. */
async function startCensusReceiver() {
  const counts = new Map<string, number>();
  let isCounting = false;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.url === "/v1/traces" && isCounting) {
        const body = decodeOtlpTraces(Buffer.concat(chunks)) as {
          resourceSpans?: Array<{
            resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
            scopeSpans?: Array<{
              scope?: { name?: string };
              spans?: Array<{ name: string; kind: number; parentSpanId?: string | undefined }>;
            }>;
          }>;
        };
        for (const resourceSpans of body.resourceSpans ?? []) {
          const service =
            resourceSpans.resource?.attributes?.find((a) => a.key === "service.name")?.value
              .stringValue ?? "?";
          for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
            const scope = (scopeSpans.scope?.name ?? "?").replace("@opentelemetry/", "");
            for (const span of scopeSpans.spans ?? []) {
              const name = span.name.replace(/^(graphql\.resolve) .*/, "$1 …");
              const root = span.parentSpanId ? "" : " (root)";
              const key = `${service}\t${scope}\t${KINDS[span.kind] ?? span.kind}\t${name}${root}`;
              counts.set(key, (counts.get(key) ?? 0) + 1);
            }
          }
        }
      }
      response.writeHead(200, { "content-type": "application/x-protobuf" });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    setCounting(value: boolean) {
      isCounting = value;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const extraEnv = Object.fromEntries(
  (flags.env ?? []).map((pair) => {
    const at = pair.indexOf("=");
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);
const redisServer = await startRedisServer();
const redis = new Redis(redisServer.url);
const receiver = await startCensusReceiver();
const system = await startBenchSystem(
  {
    redisUrl: redisServer.url,
    prefix: "census:",
    otlpEndpoint: receiver.endpoint,
    profileDir: flags.profile,
  },
  {
    gateway: { PLACE_ORDER_RATE_LIMIT: "0", ...extraEnv },
    inventory: extraEnv,
    payment: extraEnv,
    shipment: extraEnv,
  },
);
const client = createGatewayClient(system.gatewayUrl, 128);
const tracker = trackShipments(system.gatewayUrl);
const pids = Object.fromEntries([...system.processes].map(([app, child]) => [app, child.pid]));
try {
  await warmUp(client, tracker);
  await settle(tracker);
  // Let the warm-up's spans be exported before counting starts (the batch delay is 5 s at most).
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  receiver.setCounting(true);
  const result = await runClosedLoop(
    client,
    tracker,
    Number(flags.clients),
    Number(flags.seconds),
    () => cpuSnapshot(pids, redis),
  );
  await settle(tracker);
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  receiver.setCounting(false);
  const rows = [...receiver.counts]
    .map(([key, count]) => {
      const [service = "", scope = "", kind = "", name = ""] = key.split("\t");
      return { service, scope, kind, name, perOrder: count / result.shipped };
    })
    .sort((a, b) => a.service.localeCompare(b.service) || b.perOrder - a.perOrder);
  const total = rows.reduce((sum, row) => sum + row.perOrder, 0);
  if (flags.json) {
    const document = { shipped: result.shipped, total, rows, cpuMsPerOrder: result.cpuMsPerOrder };
    process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  } else {
    process.stdout.write(
      `${result.shipped} orders shipped (${Math.round(result.shippedPerSecond)}/s); spans per order:\n`,
    );
    for (const { service, scope, kind, name, perOrder } of rows) {
      process.stdout.write(
        `${perOrder.toFixed(2).padStart(6)}  ${service.padEnd(10)} ${scope.padEnd(28)} ${kind.padEnd(9)} ${name}\n`,
      );
    }
    process.stdout.write(`${total.toFixed(2).padStart(6)}  total\n`);
    process.stdout.write(
      `CPU ms/order: ${Object.entries(result.cpuMsPerOrder)
        .map(([name, ms]) => `${name} ${ms.toFixed(3)}`)
        .join(" · ")}\n`,
    );
  }
} finally {
  tracker.close();
  client.close();
  await system.stop();
  await receiver.stop();
  redis.disconnect();
  await redisServer.stop();
}
