import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, readFile, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, posix } from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "./compose-file.ts";
import {
  type Dockerfile,
  execForm,
  type Instruction,
  parseAssignments,
  type Stage,
  substitute,
} from "./dockerfile.ts";

const execFileAsync = promisify(execFile);

/**
 * Turns `.dockerignore` into a predicate with Docker's rules: patterns are anchored at the
 * context root, `**` spans directories, a pattern that matches a directory excludes what is
 * inside it, `!pattern` re-includes, and the last matching pattern wins.
 */
export function dockerignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const isException = line.startsWith("!");
      const pattern = posix
        .normalize((isException ? line.slice(1) : line).trim())
        .replace(/^\/+|\/+$/g, "");
      return { isException, regex: globToRegex(pattern) };
    });
  return (path) => {
    const segments = path.split("/");
    const candidates = segments.map((_, index) => segments.slice(0, index + 1).join("/"));
    let isIgnored = false;
    for (const rule of rules)
      if (candidates.some((candidate) => rule.regex.test(candidate))) isIgnored = !rule.isException;
    return isIgnored;
  };
}

function globToRegex(pattern: string): RegExp {
  let source = "";
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index] ?? "";
    if (char === "*" && pattern[index + 1] === "*") {
      const isDirectoryPrefix = pattern[index + 2] === "/";
      source += isDirectoryPrefix ? "(?:.*/)?" : ".*";
      index += isDirectoryPrefix ? 2 : 1;
    } else if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else if (char === "[") {
      const end = pattern.indexOf("]", index);
      source += end === -1 ? "\\[" : pattern.slice(index, end + 1).replace(/^\[!/, "[^");
      if (end !== -1) index = end;
    } else source += char.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/**
 * Lays out the build context the way `docker build .` would send it: the working tree's files
 * (tracked, or untracked and not git-ignored), less what `.dockerignore` excludes.
 */
export async function copyBuildContext(target: string): Promise<string[]> {
  const { stdout } = await execFileAsync(
    "git",
    ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 },
  );
  const isIgnored = dockerignoreMatcher(await readFile(join(repoRoot, ".dockerignore"), "utf8"));
  const files = [...new Set(stdout.split("\0"))]
    .filter((file) => file !== "" && !isIgnored(file))
    .filter((file) => existsSync(join(repoRoot, file)));
  for (const file of files) {
    await mkdir(dirname(join(target, file)), { recursive: true });
    await cp(join(repoRoot, file), join(target, file), { verbatimSymlinks: true });
  }
  return files;
}

/** What the replayed image would run, and where. */
export interface ReplayedImage {
  /** The host directory standing for the image's `/`. */
  root: string;
  /** The host directory of the final WORKDIR. */
  workdir: string;
  /** The image's ENV. */
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[] | undefined;
  user: string | undefined;
  /** RUN steps that cannot run here (they need root and apt), for the test's report. */
  skipped: string[];
}

/** Options of {@link replayImage}. */
export interface ReplayOptions {
  dockerfile: Dockerfile;
  /** The build args, e.g. `{ APP: "services/shipment" }`. */
  buildArgs: Record<string, string>;
  /** The laid-out build context (see {@link copyBuildContext}). */
  context: string;
  /** A scratch directory: each stage gets its own root under it. */
  workspace: string;
  /** Environment for RUN steps, on top of the stage's ENV and ARGs (e.g. npm's offline flag). */
  runEnv?: Record<string, string>;
  /** Whether a RUN step must be skipped (default: those that call apt-get). */
  shouldSkipRun?: (command: string) => boolean;
}

interface StageState {
  root: string;
  env: Record<string, string>;
  args: Record<string, string | undefined>;
  workdir: string;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[] | undefined;
  user: string | undefined;
}

/**
 * Replays the last stage of a Dockerfile without Docker: each stage's filesystem is a host
 * directory, COPY copies, RUN runs with `sh -c` in the stage's WORKDIR (its absolute paths
 * mapped into the stage's directory), ENV/ARG/WORKDIR/CMD are tracked. Only the simple forms
 * Conveyor's Dockerfile uses are understood; anything else throws, so that a change to the
 * Dockerfile that this replay cannot follow fails loudly instead of being ignored.
 */
export async function replayImage(options: ReplayOptions): Promise<ReplayedImage> {
  const { dockerfile } = options;
  const shouldSkipRun = options.shouldSkipRun ?? ((command) => /\bapt-get\b/.test(command));
  const skipped: string[] = [];
  const built = new Map<string, StageState>();
  // Top-level directories that stages own (/app, /src, /manifests...): absolute paths under
  // them in RUN commands are mapped into the stage's directory.
  const ownedRoots = new Set<string>();
  for (const stage of dockerfile.stages)
    for (const instruction of stage.instructions) {
      const paths =
        instruction.keyword === "WORKDIR"
          ? [instruction.args]
          : instruction.keyword === "COPY" && instruction.flags.from
            ? instruction.args.split(/\s+/)
            : [];
      for (const path of paths) {
        const first = /^\/([^/$\s]+)/.exec(path)?.[1];
        if (first) ownedRoots.add(first);
      }
      if (instruction.keyword === "RUN")
        for (const match of instruction.args.matchAll(/\bmkdir\s+(?:-p\s+)?\/([^/\s]+)/g))
          if (match[1]) ownedRoots.add(match[1]);
    }

  const globalArgs = { ...dockerfile.globalArgs };

  async function build(stage: Stage, index: number): Promise<StageState> {
    const cached = built.get(stage.name);
    if (cached) return cached;
    const root = join(options.workspace, `stage-${index}-${stage.name.replace(/[^\w.-]/g, "_")}`);
    await mkdir(root, { recursive: true });
    const from = substitute(stage.from, globalArgs);
    const parentIndex = dockerfile.stages.findIndex((candidate) => candidate.name === from);
    let state: StageState;
    const parentStage = dockerfile.stages[parentIndex];
    if (parentStage && parentIndex < index) {
      const parent = await build(parentStage, parentIndex);
      await cp(parent.root, root, { recursive: true, verbatimSymlinks: true });
      state = { ...parent, root, env: { ...parent.env }, args: {} };
    } else {
      state = {
        root,
        env: {},
        args: {},
        workdir: "/",
        entrypoint: [],
        cmd: [],
        healthcheck: undefined,
        user: undefined,
      };
    }
    for (const instruction of stage.instructions) await apply(state, instruction);
    built.set(stage.name, state);
    return state;
  }

  function variables(state: StageState): Record<string, string | undefined> {
    return { ...state.env, ...state.args };
  }

  function hostPath(state: StageState, containerPath: string): string {
    const absolute = posix.isAbsolute(containerPath)
      ? containerPath
      : posix.join(state.workdir, containerPath);
    return join(state.root, posix.normalize(absolute));
  }

  async function copy(source: string, destination: string, destinationIsDirectory: boolean) {
    if (!existsSync(source)) throw new Error(`COPY source not found: ${source}`);
    if ((await stat(source)).isDirectory()) {
      await mkdir(destination, { recursive: true });
      await cp(source, destination, { recursive: true, verbatimSymlinks: true, force: true });
    } else {
      const target = destinationIsDirectory
        ? join(destination, source.split("/").at(-1) ?? "")
        : destination;
      await mkdir(dirname(target), { recursive: true });
      await cp(source, target, { verbatimSymlinks: true, force: true });
    }
  }

  async function apply(state: StageState, instruction: Instruction): Promise<void> {
    const vars = variables(state);
    switch (instruction.keyword) {
      case "ARG": {
        for (const [name, value] of Object.entries(parseAssignments(instruction.args)))
          state.args[name] = options.buildArgs[name] ?? value ?? globalArgs[name];
        return;
      }
      case "ENV": {
        for (const [name, value] of Object.entries(parseAssignments(instruction.args)))
          state.env[name] = substitute(value ?? "", vars);
        return;
      }
      case "WORKDIR": {
        const path = substitute(instruction.args, vars);
        state.workdir = posix.isAbsolute(path) ? path : posix.join(state.workdir, path);
        await mkdir(hostPath(state, state.workdir), { recursive: true });
        return;
      }
      case "COPY": {
        if (instruction.args.startsWith("["))
          throw new Error(`line ${instruction.line}: COPY in JSON form is not replayed`);
        const parts = instruction.args.split(/\s+/).map((part) => substitute(part, vars));
        const destination = parts.pop() ?? "";
        const from = instruction.flags.from;
        let sourceRoot = options.context;
        let sourceBase = "";
        if (from) {
          const index = dockerfile.stages.findIndex((stage) => stage.name === from);
          const fromStage = dockerfile.stages[index];
          if (!fromStage)
            throw new Error(`line ${instruction.line}: COPY --from=${from}: no such stage`);
          sourceRoot = (await build(fromStage, index)).root;
          sourceBase = "/";
        }
        const destinationPath = hostPath(state, destination);
        const isDirectory = destination.endsWith("/") || parts.length > 1;
        for (const source of parts)
          await copy(
            join(sourceRoot, posix.join(sourceBase, source)),
            destinationPath,
            isDirectory,
          );
        return;
      }
      case "RUN": {
        // Docker hands ARG and ENV values to the shell as variables; the text is not substituted.
        const command = instruction.args;
        if (shouldSkipRun(command)) {
          skipped.push(`line ${instruction.line}: RUN ${command}`);
          return;
        }
        const mapped = command.replace(
          /(^|[\s=])\/([^/\s;&|]+)(?=[/\s;&|]|$)/g,
          (match, before: string, first: string) =>
            ownedRoots.has(first) ? `${before}${join(state.root, first)}` : match,
        );
        const cwd = hostPath(state, state.workdir);
        await mkdir(cwd, { recursive: true });
        await runShell(mapped, cwd, {
          ...cleanEnvironment(),
          ...state.env,
          ...Object.fromEntries(
            Object.entries(state.args).filter(
              (entry): entry is [string, string] => entry[1] !== undefined,
            ),
          ),
          ...options.runEnv,
        }).catch((error: Error) => {
          throw new Error(`line ${instruction.line}: RUN failed: ${command}\n${error.message}`);
        });
        return;
      }
      case "USER":
        state.user = instruction.args;
        return;
      case "ENTRYPOINT":
        state.entrypoint = execForm(instruction);
        return;
      case "CMD":
        state.cmd = execForm(instruction);
        return;
      case "HEALTHCHECK":
        state.healthcheck = instruction.args === "NONE" ? undefined : execForm(instruction);
        return;
      case "EXPOSE":
      case "LABEL":
      case "STOPSIGNAL":
      case "VOLUME":
        return;
      default:
        throw new Error(`line ${instruction.line}: ${instruction.keyword} is not replayed here`);
    }
  }

  const lastIndex = dockerfile.stages.length - 1;
  const last = dockerfile.stages[lastIndex];
  if (!last) throw new Error("the Dockerfile has no stage");
  const final = await build(last, lastIndex);
  if (!isAbsolute(final.root)) throw new Error("stage roots must be absolute");
  return {
    root: final.root,
    workdir: hostPath(final, final.workdir),
    env: final.env,
    entrypoint: final.entrypoint,
    cmd: final.cmd,
    healthcheck: final.healthcheck,
    user: final.user,
    skipped,
  };
}

/**
 * The environment of a process started by the replay: only PATH and HOME of this one, so that
 * nothing of the test runner (NODE_OPTIONS, npm_config_* of `npm test`, VITEST...) leaks in.
 */
export function cleanEnvironment(): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "TMPDIR", "LANG"]) {
    const value = process.env[name];
    if (value !== undefined) environment[name] = value;
  }
  return environment;
}

function runShell(command: string, cwd: string, env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", command], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    const output: string[] = [];
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => output.push(chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => output.push(chunk));
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`exit ${code ?? signal}\n${output.join("").slice(-4000)}`));
    });
  });
}
