/**
 * Summarises V8 CPU profiles (`.cpuprofile`, as `npm run bench -- --profile DIR` writes them):
 * the functions with the most self time, and self time by package, per profile.
 *
 *   node bench/profile-summary.ts DIR_OR_FILE… [--top 25] [--json]
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self time of one function or package, in ms and as a share of the profile. */
export interface SelfTime {
  name: string;
  ms: number;
  percent: number;
}

/** What one profile says. */
export interface ProfileSummary {
  file: string;
  /** Wall time the profile covers, and how much of it the process was busy (not idle). */
  totalMs: number;
  busyMs: number;
  functions: SelfTime[];
  packages: SelfTime[];
}

/** Where a function comes from: an npm package, a Conveyor package, Node itself or V8. */
function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1] as string;
  if (url.startsWith("node:")) return "node:internal";
  const own = /\/(services\/[^/]+|gateway|observability\/[^/]+|bench)\//.exec(url);
  if (own) return own[1] as string;
  return url.replace(/^file:\/\//, "");
}

function shortUrl(url: string): string {
  return url
    .replace(/^file:\/\/.*?node_modules\//, "")
    .replace(/^file:\/\/.*?\/(services|gateway|observability|bench)\//, "$1/");
}

/** Self time per function and per package of one profile. */
export function summarise(file: string, top: number): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfById = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    selfById.set(id, (selfById.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfById) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    totalUs += us;
    if (frame.functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    const name = frame.url
      ? `${frame.functionName || "(anonymous)"} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`
      : frame.functionName;
    functions.set(name, (functions.get(name) ?? 0) + us);
    const pkg = packageOf(frame.url, frame.functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const rank = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({
        name,
        ms: Math.round(us / 100) / 10,
        percent: Math.round((us / busyUs) * 1000) / 10,
      }));
  return {
    file: `${basename(dirname(file))}/${basename(file)}`,
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    functions: rank(functions),
    packages: rank(packages),
  };
}

function profilesIn(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .flatMap((name) => profilesIn(join(path, name)))
    .filter((file) => file.endsWith(".cpuprofile"));
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "25" }, json: { type: "boolean", default: false } },
  });
  const top = Number(values.top);
  const summaries = positionals
    .flatMap(profilesIn)
    .map((file) => summarise(file, top))
    .sort((a, b) => b.busyMs - a.busyMs);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(summaries, null, 2)}\n`);
  } else {
    for (const summary of summaries) {
      process.stdout.write(
        `\n### ${summary.file}: ${summary.busyMs} ms busy of ${summary.totalMs} ms\n` +
          "self time by package (% of busy):\n" +
          summary.packages
            .map((p) => `  ${p.percent.toFixed(1).padStart(5)} %  ${p.name}`)
            .join("\n") +
          "\ntop functions by self time (% of busy):\n" +
          summary.functions
            .map((f) => `  ${f.percent.toFixed(1).padStart(5)} %  ${f.name}`)
            .join("\n") +
          "\n",
      );
    }
  }
}
