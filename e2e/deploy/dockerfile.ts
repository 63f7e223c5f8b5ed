import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "./compose-file.ts";

/** One instruction of a Dockerfile, continuation lines joined, its `--flags` split off. */
export interface Instruction {
  keyword: string;
  flags: Record<string, string>;
  /** The rest of the instruction, after the flags. */
  args: string;
  /** 1-based line where it starts, for messages. */
  line: number;
}

/** One build stage: `FROM <from> AS <name>` and what follows. */
export interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** A parsed Dockerfile: the ARGs declared before the first FROM, and the stages. */
export interface Dockerfile {
  globalArgs: Record<string, string | undefined>;
  stages: Stage[];
}

/**
 * Parses a Dockerfile into stages and instructions, enough to read and replay the simple forms
 * Conveyor's Dockerfile uses (this is not a full BuildKit frontend: no heredocs).
 */
export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  const lines = text.split("\n");
  lines.forEach((rawLine, index) => {
    const line = rawLine.replace(/\s+$/, "");
    // Comment lines are dropped, even inside a continued instruction (as Docker does).
    if (/^\s*#/.test(line)) return;
    if (!pending && line.trim() === "") return;
    const isContinued = line.endsWith("\\");
    const content = isContinued ? line.slice(0, -1) : line;
    pending = pending
      ? { text: `${pending.text} ${content.trim()}`, line: pending.line }
      : { text: content.trim(), line: index + 1 };
    if (!isContinued) {
      instructions.push(toInstruction(pending.text, pending.line));
      pending = undefined;
    }
  });
  if (pending) instructions.push(toInstruction(pending.text, pending.line));

  const globalArgs: Record<string, string | undefined> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match) throw new Error(`line ${instruction.line}: cannot read FROM`);
      stages.push({
        from: match[1] ?? "",
        name: match[2] ?? String(stages.length),
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (instruction.keyword !== "ARG")
        throw new Error(`line ${instruction.line}: only ARG may come before the first FROM`);
      Object.assign(globalArgs, parseAssignments(instruction.args));
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

function toInstruction(text: string, line: number): Instruction {
  const match = /^(\S+)\s*([\s\S]*)$/.exec(text);
  const keyword = (match?.[1] ?? "").toUpperCase();
  let rest = match?.[2] ?? "";
  const flags: Record<string, string> = {};
  for (;;) {
    const flag = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest);
    if (!flag) break;
    flags[flag[1] ?? ""] = flag[2] ?? "true";
    rest = rest.slice(flag[0].length);
  }
  return { keyword, flags, args: rest.trim(), line };
}

/** Reads `KEY=VALUE ...` (ENV, ARG) into a record; a bare `KEY` (ARG without default) is undefined. */
export function parseAssignments(args: string): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = {};
  const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=\s][^=]*)$/.exec(args);
  if (legacy?.[1] && !args.includes("=")) {
    result[legacy[1]] = legacy[2];
    return result;
  }
  for (const token of args.match(/[A-Za-z_][A-Za-z0-9_]*(?:=(?:"[^"]*"|'[^']*'|\S*))?/g) ?? []) {
    const index = token.indexOf("=");
    if (index === -1) result[token] = undefined;
    else result[token.slice(0, index)] = token.slice(index + 1).replace(/^(["'])(.*)\1$/, "$2");
  }
  return result;
}

/** Replaces `$NAME`, `${NAME}` and `${NAME:-default}` with build args or env values. */
export function substitute(text: string, variables: Record<string, string | undefined>): string {
  return text.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (
      _match,
      braced: string | undefined,
      fallback: string | undefined,
      bare: string | undefined,
    ) => {
      const value = variables[braced ?? bare ?? ""];
      return value === undefined || value === "" ? (fallback ?? "") : value;
    },
  );
}

/** Reads an exec-form (JSON array) argument such as CMD's, or fails with the line. */
export function execForm(instruction: Instruction): string[] {
  const text =
    instruction.keyword === "HEALTHCHECK"
      ? instruction.args.replace(/^CMD\s+/, "")
      : instruction.args;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (Array.isArray(parsed) && parsed.every((item) => typeof item === "string")) return parsed;
  } catch {
    // reported below
  }
  throw new Error(`line ${instruction.line}: ${instruction.keyword} is not in exec (JSON) form`);
}

/** Reads and parses the repository's Dockerfile. */
export async function loadDockerfile(): Promise<Dockerfile> {
  return parseDockerfile(await readFile(join(repoRoot, "Dockerfile"), "utf8"));
}
