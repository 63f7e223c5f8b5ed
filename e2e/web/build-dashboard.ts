import { spawn } from "node:child_process";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
/** The dashboard's workspace and its build output. */
export const WEB_DIR = join(root, "web");
export const DIST_DIR = join(WEB_DIR, "dist");

async function newestMtimeMs(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = await readdir(path);
  const times = await Promise.all(entries.map((entry) => newestMtimeMs(join(path, entry))));
  return Math.max(info.mtimeMs, ...times);
}

/**
 * Builds the dashboard into web/dist unless a build newer than every source file is there
 * already (CI always starts from a fresh clone, so it builds once).
 */
export async function buildDashboardOnce(): Promise<void> {
  const sources = [
    join(WEB_DIR, "src"),
    join(WEB_DIR, "public"),
    join(WEB_DIR, "index.html"),
    join(WEB_DIR, "vite.config.ts"),
  ];
  const [built, ...sourceTimes] = await Promise.all([
    stat(join(DIST_DIR, "index.html")).then(
      (info) => info.mtimeMs,
      () => 0,
    ),
    ...sources.map(newestMtimeMs),
  ]);
  if (built > Math.max(...sourceTimes)) return;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, "node_modules/vite/bin/vite.js"), "build"], {
      cwd: WEB_DIR,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`vite build failed (${code}):\n${output}`)),
    );
  });
}
