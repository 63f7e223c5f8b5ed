import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type ServiceProcess, spawnService } from "../../services/testkit/src/process.ts";
import { APPS, type AppName } from "../support/system.ts";

const root = join(import.meta.dirname, "..", "..");

/** One process of the fleet: an app and its replica number, e.g. `payment#2`. */
export interface Replica {
  readonly id: string;
  readonly app: AppName;
  /** Whether a process of it is running and was ready. */
  readonly isUp: boolean;
}

/** A process that exited without being killed by the soak. */
export interface Crash {
  replica: string;
  exit: number | string;
  /** The end of its output. */
  tail: string;
}

/** What happened to the fleet. */
export interface FleetStats {
  /** SIGKILLs sent, per app. */
  kills: Record<AppName, number>;
  /** Processes that exited on their own after they had been ready: always a failure. */
  crashes: Crash[];
  /** Starts that did not reach ready (e.g. Redis was down); retried until one does. */
  startFailures: number;
}

/** Options of {@link createFleet}. */
export interface FleetOptions {
  /** How many processes of each app. */
  replicas: Record<AppName, number>;
  /** Settings of every process. */
  env: Record<string, string>;
  /** Settings per app, on top. */
  appEnv?: Partial<Record<AppName, Record<string, string>>>;
  /** The gateway's port, the same across restarts so that clients find it again. */
  gatewayPort: number;
  /** Where each process's output is appended when it exits (none when undefined). */
  logDir?: string | undefined;
  log: (line: string) => void;
}

/** Conveyor's apps as real processes, any of which can be SIGKILLed and started again. */
export interface Fleet {
  readonly replicas: readonly Replica[];
  readonly stats: FleetStats;
  /** Starts every replica and waits until each is ready. */
  startAll(): Promise<void>;
  /** SIGKILLs a replica (a crash, as far as Conveyor can tell) and waits for it to exit. */
  kill(replica: Replica): Promise<void>;
  /** Starts a replica, retrying until it is ready (or `timeoutMs` passes). */
  start(replica: Replica, timeoutMs?: number): Promise<void>;
  /** Starts every replica that is down. */
  startAllDown(): Promise<void>;
  /** Stops every process with SIGTERM (SIGKILL after a grace period). */
  stopAll(): Promise<void>;
}

interface ReplicaState extends Replica {
  isUp: boolean;
  process: ServiceProcess | undefined;
  starting: Promise<void> | undefined;
  spawnCount: number;
}

/**
 * Supervises the soak's processes. A process that exits without the soak having killed it is
 * recorded as a crash (with the end of its log) and started again, so one bug does not end
 * the run before the checks can say what it cost.
 */
export function createFleet(options: FleetOptions): Fleet {
  const { log } = options;
  const states: ReplicaState[] = [];
  for (const app of Object.keys(APPS) as AppName[]) {
    for (let n = 1; n <= options.replicas[app]; n += 1) {
      states.push({
        id: `${app}#${n}`,
        app,
        isUp: false,
        process: undefined,
        starting: undefined,
        spawnCount: 0,
      });
    }
  }
  const expectedExits = new WeakSet<ServiceProcess>();
  const stats: FleetStats = {
    kills: { gateway: 0, inventory: 0, payment: 0, shipment: 0 },
    crashes: [],
    startFailures: 0,
  };
  let isStopping = false;

  async function saveOutput(state: ReplicaState, child: ServiceProcess): Promise<void> {
    if (!options.logDir) return;
    const file = join(options.logDir, `${state.id.replace("#", "-")}.log`);
    const header = `--- ${state.id} process ${state.spawnCount} (pid ${child.pid}) exited ${await child.exited}\n`;
    await appendFile(file, header + child.output.join("")).catch(() => {});
  }

  async function spawnOnce(state: ReplicaState): Promise<ServiceProcess> {
    const isGateway = state.app === "gateway";
    state.spawnCount += 1;
    const child = await spawnService({
      name: state.id,
      entry: join(root, APPS[state.app]),
      nodeArgs: ["--import", "@conveyor/telemetry/register"],
      portVariable: isGateway ? "PORT" : "HEALTH_PORT",
      env: {
        ...options.env,
        OTEL_SERVICE_NAME: state.app,
        ...(isGateway ? { PORT: String(options.gatewayPort) } : {}),
        ...options.appEnv?.[state.app],
      },
    });
    void child.exited.then(() => saveOutput(state, child));
    return child;
  }

  function watchForCrash(state: ReplicaState, child: ServiceProcess): void {
    void child.exited.then((exit) => {
      if (expectedExits.has(child) || state.process !== child) return;
      state.isUp = false;
      state.process = undefined;
      const tail = child.output.join("").slice(-3_000);
      stats.crashes.push({ replica: state.id, exit, tail });
      log(`!! ${state.id} exited on its own (${exit}); starting it again`);
      if (!isStopping) void start(state).catch(() => {});
    });
  }

  function start(replica: Replica, timeoutMs = 90_000): Promise<void> {
    const state = replica as ReplicaState;
    if (state.isUp) return Promise.resolve();
    state.starting ??= (async () => {
      const startedAt = Date.now();
      const deadline = startedAt + timeoutMs;
      for (;;) {
        const child = await spawnOnce(state);
        try {
          // Generous: on a busy machine a start can take many seconds, and a slow start is no crash.
          await child.waitUntilReady(60_000);
          state.process = child;
          state.isUp = true;
          watchForCrash(state, child);
          log(`   ${state.id} ready after ${Date.now() - startedAt} ms`);
          return;
        } catch (error) {
          expectedExits.add(child);
          await child.kill();
          stats.startFailures += 1;
          if (isStopping || Date.now() > deadline) throw error;
          const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
          log(`   ${state.id} did not start (${reason}); retrying`);
          await sleep(500);
        }
      }
    })().finally(() => {
      state.starting = undefined;
    });
    return state.starting;
  }

  return {
    replicas: states,
    stats,
    async startAll() {
      await Promise.all(states.map((state) => start(state)));
    },
    async kill(replica) {
      const state = replica as ReplicaState;
      const child = state.process;
      if (!child) return;
      expectedExits.add(child);
      state.isUp = false;
      state.process = undefined;
      stats.kills[state.app] += 1;
      await child.kill();
    },
    start,
    async startAllDown() {
      await Promise.all(states.filter((state) => !state.isUp).map((state) => start(state)));
    },
    async stopAll() {
      isStopping = true;
      await Promise.allSettled(states.map((state) => state.starting));
      await Promise.all(
        states.map(async (state) => {
          const child = state.process;
          if (!child) return;
          expectedExits.add(child);
          state.isUp = false;
          state.process = undefined;
          const stopped = await Promise.race([child.stop("SIGTERM"), sleep(15_000, "timeout")]);
          if (stopped === "timeout") await child.kill();
        }),
      );
    },
  };
}
