/**
 * The raw Redis ceiling's consumer, run as its own process like a service: it reads its group in
 * batches (`XREADGROUP COUNT BATCH_SIZE`) and, per batch, sends one pipeline that publishes one
 * output entry per input (`XADD`, the same fields) and acknowledges the batch (`XACK`). No
 * decoding, no handler, no script: the fewest round trips the work of a service can take. Reads
 * go on while up to `IN_FLIGHT` batches are being written (on a second connection), as a
 * service's concurrency window lets it. With `MODE=ack` it only acknowledges (no output).
 *
 * Env: REDIS_URL, STREAM, GROUP, OUTPUT_STREAM, BATCH_SIZE, IN_FLIGHT (default 4),
 * MODE (`forward` | `ack`), HEALTH_PORT (answers `/readyz` once connected).
 */
import { createServer } from "node:http";
import { Redis } from "ioredis";

const env = process.env;
const stream = env.STREAM ?? "";
const group = env.GROUP ?? "";
const output = env.OUTPUT_STREAM ?? `${stream}:out`;
const batchSize = Number(env.BATCH_SIZE ?? 50);
const maxInFlight = Number(env.IN_FLIGHT ?? 4);
const isForwarding = (env.MODE ?? "forward") === "forward";
const url = env.REDIS_URL ?? "redis://127.0.0.1:6379";
const reader = new Redis(url, { maxRetriesPerRequest: null });
const writer = new Redis(url, { maxRetriesPerRequest: null });
const inFlight = new Set<Promise<unknown>>();
let isStopping = false;

type Reply = Array<[string, Array<[string, string[]]>]> | null;

async function loop(): Promise<void> {
  while (!isStopping) {
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    const reply = (await reader.xreadgroup(
      "GROUP",
      group,
      "ceiling",
      "COUNT",
      batchSize,
      "BLOCK",
      200,
      "STREAMS",
      stream,
      ">",
    )) as Reply;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) continue;
    const pipeline = writer.pipeline();
    if (isForwarding) for (const [, fields] of entries) pipeline.xadd(output, "*", ...fields);
    pipeline.xack(stream, group, ...entries.map(([id]) => id));
    const written: Promise<unknown> = pipeline.exec().finally(() => inFlight.delete(written));
    inFlight.add(written);
  }
  await Promise.all(inFlight);
}

await Promise.all([reader.ping(), writer.ping()]);
const server = createServer((_request, response) => {
  response.writeHead(200).end("ready");
});
server.listen(Number(env.HEALTH_PORT ?? 0), "127.0.0.1");
const running = loop();
process.on("SIGTERM", () => {
  isStopping = true;
  void running.finally(() => {
    server.close();
    reader.disconnect();
    writer.disconnect();
    process.exit(0);
  });
});
