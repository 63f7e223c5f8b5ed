/**
 * The cluster profile's init script (docker-compose.yml, `redis-cluster-init`), run as it is
 * written there, by this machine's POSIX sh, against local cluster nodes instead of containers:
 * the only part of the cluster profile that no `docker-compose config` can check.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  type RedisServer,
  startClusterNodes,
  stateProblem,
  waitForCluster,
} from "@conveyor/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { loadCompose } from "./compose-file.ts";

const execFileAsync = promisify(execFile);

let nodes: RedisServer[] = [];
afterEach(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
  nodes = [];
});

async function initScript(): Promise<string> {
  const { compose } = await loadCompose();
  const command = compose.services["redis-cluster-init"]?.command;
  if (!Array.isArray(command) || command[0] !== "sh" || command[1] !== "-c" || !command[2])
    throw new Error("redis-cluster-init's command is not [sh, -c, <script>]");
  return command[2];
}

describe("the cluster profile's init script", () => {
  it("makes three masters with a replica each out of six fresh nodes, and on a second run only waits", async () => {
    const script = await initScript();
    nodes = await startClusterNodes(6, { cluster: { nodeTimeoutMs: 2000 } });
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    const run = () =>
      execFileAsync("sh", ["-c", script], {
        env: { PATH: process.env.PATH ?? "", NODES: addresses.join(" ") },
        timeout: 60_000,
      });

    const first = await run();
    expect(first.stdout).toContain("the cluster is up");
    // The replicas' roles reach every node's view shortly after the slots do.
    const reports = await waitForCluster(
      addresses,
      (reports) =>
        stateProblem(reports) ??
        (reports.every((report) => report.nodes.filter((node) => node.masterId).length === 3)
          ? undefined
          : "a node does not see three replicas yet"),
      { description: "every node to see three replicas", timeoutMs: 10_000 },
    );
    const view = reports[0]?.nodes ?? [];
    const masters = view.filter((node) => node.flags.includes("master") && node.slots.length > 0);
    const replicas = view.filter((node) => node.flags.includes("slave"));
    expect(masters).toHaveLength(3);
    expect(replicas.map((replica) => replica.masterId).sort()).toEqual(
      masters.map((master) => master.id).sort(),
    );

    const second = await run();
    expect(second.stdout).toContain("the cluster exists already");
    expect(second.stdout).toContain("the cluster is up");
  }, 60_000);
});
