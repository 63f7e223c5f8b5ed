import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The default service name of a process: the name of the package its entry file belongs to,
 * without the scope (`services/payment/src/main.ts` → `payment`). OTEL_SERVICE_NAME overrides it.
 */
export function serviceNameOf(entry: string | undefined): string {
  let dir = entry ? dirname(entry) : process.cwd();
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string };
      if (name) return name.replace(/^@[^/]+\//, "");
    }
    const parent = dirname(dir);
    if (parent === dir) return "conveyor";
    dir = parent;
  }
}
