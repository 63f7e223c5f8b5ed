import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** The repository root (this file lives in `e2e/deploy/`). */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** A compose service, as far as these checks read it. */
export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; args?: Record<string, unknown> };
  container_name?: string;
  ports?: Array<string | number | { published?: string | number; host_ip?: string }>;
  environment?: Record<string, string | number | boolean | null> | string[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
  restart?: string;
  profiles?: string[];
  command?: string | string[];
  volumes?: Array<string | { source?: string; target?: string }>;
  [key: string]: unknown;
}

/** The compose file, parsed, with `${VAR}` references resolved. */
export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

/** One `${VAR...}` reference found in the file, with its default when it has one. */
export interface VariableReference {
  name: string;
  defaultValue: string | undefined;
}

// $$ (a literal $), ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?err}, ${NAME?err},
// ${NAME:+alt}, ${NAME+alt}, and $NAME: the interpolation syntax of the compose spec.
const REFERENCE =
  /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/**
 * Resolves the compose spec's variable references in one string, the way `docker compose` does
 * with the given variables (none: every default applies). Unset required ones (`:?`) throw.
 */
export function interpolate(
  text: string,
  variables: Record<string, string | undefined>,
  found: VariableReference[] = [],
): string {
  return text.replace(
    REFERENCE,
    (_match, dollar: string, braced: string, operator: string, operand: string, bare: string) => {
      if (dollar) return "$";
      const name = braced ?? bare;
      const value = variables[name];
      const isUnset = value === undefined;
      const isEmpty = isUnset || value === "";
      found.push({
        name,
        defaultValue: operator === "-" || operator === ":-" ? operand : undefined,
      });
      switch (operator) {
        case ":-":
          return isEmpty ? (operand ?? "") : (value ?? "");
        case "-":
          return isUnset ? (operand ?? "") : value;
        case ":?":
        case "?":
          if (operator === ":?" ? isEmpty : isUnset)
            throw new Error(`compose variable ${name} is required: ${operand}`);
          return value ?? "";
        case ":+":
          return isEmpty ? "" : (operand ?? "");
        case "+":
          return isUnset ? "" : (operand ?? "");
        default:
          return value ?? "";
      }
    },
  );
}

function interpolateDeep<T>(
  value: T,
  variables: Record<string, string | undefined>,
  found: VariableReference[],
): T {
  if (typeof value === "string") return interpolate(value, variables, found) as T;
  if (Array.isArray(value))
    return value.map((item) => interpolateDeep(item, variables, found)) as T;
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateDeep(item, variables, found)]),
    ) as T;
  return value;
}

/**
 * Lays an override file over a compose model: mappings merge key by key, the override winning,
 * as compose merges them. Compose merges some sequences (ports, volumes…) by its own rules; an
 * override that sets a sequence the base already has is refused rather than guessed at.
 */
function mergeOverride(base: unknown, override: unknown, path: string): unknown {
  const isMapping = (value: unknown): value is Record<string, unknown> =>
    typeof value === "object" && value !== null && !Array.isArray(value);
  if (isMapping(base) && isMapping(override)) {
    const merged: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(override))
      merged[key] = key in base ? mergeOverride(base[key], value, `${path}.${key}`) : value;
    return merged;
  }
  if (Array.isArray(base) || Array.isArray(override))
    throw new Error(
      `an override sets the sequence ${path}: merge it by compose's rules here first`,
    );
  return override;
}

/**
 * Reads and parses the compose files (default `docker-compose.yml` alone; more are overrides laid
 * over it in order, as `docker compose -f … -f …` does) with a real YAML parser (merge keys on,
 * as compose has them), then resolves variable references with `variables` (default: none set,
 * so every `${VAR:-default}` takes its default, as on a machine without a `.env`).
 */
export async function loadCompose(
  variables: Record<string, string | undefined> = {},
  files: string[] = ["docker-compose.yml"],
): Promise<{ compose: ComposeFile; references: VariableReference[]; text: string }> {
  const texts = await Promise.all(files.map((file) => readFile(join(repoRoot, file), "utf8")));
  const raw = texts
    .map((text) => parse(text, { merge: true }) as ComposeFile)
    .reduce((base, override) => mergeOverride(base, override, "") as ComposeFile);
  const references: VariableReference[] = [];
  const compose = interpolateDeep(raw, variables, references);
  // Extension fields (x-*) are only templates; compose ignores them.
  for (const key of Object.keys(compose)) if (key.startsWith("x-")) delete compose[key];
  return { compose, references, text: texts.join("\n") };
}

/** A service's environment as a plain record of strings (both compose syntaxes). */
export function environmentOf(service: ComposeService): Record<string, string> {
  const environment = service.environment ?? {};
  if (Array.isArray(environment))
    return Object.fromEntries(
      environment.map((entry) => {
        const index = entry.indexOf("=");
        return index === -1 ? [entry, ""] : [entry.slice(0, index), entry.slice(index + 1)];
      }),
    );
  return Object.fromEntries(
    Object.entries(environment).map(([key, value]) => [key, value == null ? "" : String(value)]),
  );
}

/** A published host port: where on the host it binds, and what. */
export interface PublishedPort {
  hostIp: string;
  hostPort: string;
  protocol: string;
}

/** The host ports a service publishes (short and long syntax); unpublished ports are left out. */
export function publishedPorts(service: ComposeService): PublishedPort[] {
  const ports: PublishedPort[] = [];
  for (const port of service.ports ?? []) {
    if (typeof port === "object") {
      if (port.published !== undefined && port.published !== "")
        ports.push({
          hostIp: port.host_ip ?? "0.0.0.0",
          hostPort: String(port.published),
          protocol: String((port as { protocol?: string }).protocol ?? "tcp"),
        });
      continue;
    }
    const [spec, protocol = "tcp"] = String(port).split("/") as [string, string?];
    const parts = spec.split(":");
    // "container" alone publishes on a random host port: nothing can collide.
    if (parts.length === 1) continue;
    const hostPort = parts.at(-2) ?? "";
    const hostIp = parts.length > 2 ? parts.slice(0, -2).join(":") : "0.0.0.0";
    ports.push({ hostIp, hostPort, protocol });
  }
  return ports;
}

/** The names of the services a service waits for, with the condition of each. */
export function dependenciesOf(service: ComposeService): Record<string, string> {
  const dependsOn = service.depends_on ?? {};
  if (Array.isArray(dependsOn))
    return Object.fromEntries(dependsOn.map((name) => [name, "service_started"]));
  return Object.fromEntries(
    Object.entries(dependsOn).map(([name, value]) => [name, value?.condition ?? "service_started"]),
  );
}
