import type { SoakResult } from "./soak.ts";

/** The soak's report as plain text: the figures, then each check with ✓ or ✗. */
export function formatReport(result: SoakResult): string {
  const f = result.figures;
  const kills = Object.entries(f.kills)
    .map(([app, count]) => `${app} ${count}`)
    .join(", ");
  const totalKills = Object.values(f.kills).reduce((sum, count) => sum + count, 0);
  const lines = [
    "",
    "Conveyor chaos soak",
    "===================",
    f.redis === "cluster"
      ? `seed ${f.seed}, Redis Cluster (3 masters, each with a replica), ${f.partitions} partitions`
      : `seed ${f.seed}, appendfsync ${f.appendFsync}, ${f.partitions} partition${f.partitions === 1 ? "" : "s"}`,
    `orders placed      ${f.ordersPlanned} (${Object.entries(f.ordersByKind)
      .map(([kind, count]) => `${kind} ${count}`)
      .join(", ")})`,
    `orders accepted    ${f.ordersAccepted} (${f.ordersRetried} needed retries; ${f.placeOrderCalls} placeOrder calls; slowest accepted after ${f.maxMsToAccept} ms; ${f.replays} replayed with the same key)`,
    `retried because   ${
      f.retryReasons
        .slice(0, 4)
        .map(([reason, count]) => `${count}× ${reason}`)
        .join("; ") || "-"
    }`,
    ...(f.partitions > 1
      ? [`by partition       ${f.ordersByPartition.map((count, p) => `p${p} ${count}`).join(", ")}`]
      : []),
    `final statuses     ${Object.entries(f.byStatus)
      .map(([status, count]) => `${status} ${count}`)
      .join(", ")}`,
    `kills (SIGKILL)    ${totalKills}: ${kills}`,
    f.redis === "cluster"
      ? `failovers          ${f.failovers} (CLUSTER FAILOVER)${f.failoverDetails.length ? `: ${f.failoverDetails.join("; ")}` : ""}`
      : `redis restarts     ${f.redisRestarts} (kill -9, restart from the AOF)`,
    `failed starts      ${f.startFailures} (retried; e.g. started while Redis was down)`,
    `crashes            ${f.crashes.length}${f.crashes.length ? `: ${f.crashes.map((crash) => `${crash.replica} (${crash.exit})`).join(", ")}` : ""}`,
    `lost               ${f.lost}`,
    `duplicated         ${f.duplicatedEvents} orders with a duplicate event; ${f.subscriptionDuplicates} duplicate deliveries to subscribers; ${f.subscriptionMissing} events missed by subscribers`,
    `dead letters       ${f.deadLetters} (for ${f.injected} injected malformed entries)`,
    `time to terminal   p50 ${f.msToTerminal.p50} ms, p99 ${f.msToTerminal.p99} ms, max ${f.msToTerminal.max} ms`,
    `stream entries     ${f.streamEntriesAudited} added (audited; ${f.auditRetriedReads} audit reads failed and were sent again); at the end ${Object.entries(
      f.streamLengthsAtEnd,
    )
      .map(([stream, length]) => `${stream} ${length}`)
      .join(", ")}`,
    `restocked          ${f.restocked} units of the scarce sku`,
    `group consumers    ${Object.entries(f.consumersListed)
      .map(([group, count]) => `${group} ${count}`)
      .join(
        ", ",
      )} listed at the end (killed ones leave once their entries are claimed; on Redis 7.0 a live one is listed once it has received entries)`,
    `duration           ${(f.durationMs / 1000).toFixed(1)} s (placing ${(f.placementMs / 1000).toFixed(1)} s, drain ${(f.drainMs / 1000).toFixed(1)} s)`,
    "",
    ...result.checks.map((check) => `${check.ok ? "✓" : "✗"} ${check.name} — ${check.detail}`),
    "",
    result.ok ? "PASS" : "FAIL",
  ];
  for (const crash of f.crashes)
    lines.push(`\n--- ${crash.replica} exited ${crash.exit}:\n${crash.tail}`);
  return lines.join("\n");
}
