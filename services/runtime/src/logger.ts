import { type Logger, pino } from "pino";

/** Redis commands whose arguments carry credentials. */
const SECRET_COMMANDS = new Set(["auth", "hello", "migrate", "config"]);

/**
 * Removes credentials from a serialized error: ioredis attaches the failed command to its
 * errors, and a refused `HELLO 3 AUTH default <password>` (a wrong password) would otherwise
 * print the password. Walks the errors it wraps (`previousErrors`, `cause`, `errors`) too.
 */
function withoutSecrets(value: unknown, copies = new WeakMap<object, unknown>()): unknown {
  if (value === null || typeof value !== "object") return value;
  // The same error recurs in its own `previousErrors`: each object is copied once.
  if (copies.has(value)) return copies.get(value);
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    copies.set(value, items);
    for (const item of value) items.push(withoutSecrets(item, copies));
    return items;
  }
  const record = value as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  copies.set(value, result);
  for (const [key, field] of Object.entries(record)) result[key] = withoutSecrets(field, copies);
  const command = record.command as { name?: unknown } | undefined;
  if (
    command &&
    typeof command === "object" &&
    SECRET_COMMANDS.has(String(command.name).toLowerCase())
  ) {
    result.command = { name: command.name, args: "[redacted]" };
  }
  return result;
}

/** pino's error serializer, without credentials. */
function serializeError(error: unknown): unknown {
  return withoutSecrets(error instanceof Error ? pino.stdSerializers.err(error) : error);
}

export type { Logger } from "pino";

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** The service name, on every line. */
  name: string;
  level?: string;
  /** Human-readable lines (development) instead of JSON (production, log shippers). */
  isPretty?: boolean;
}

/** Makes the process's structured logger (pino: JSON lines, or pretty in development). */
export function createLogger(options: LoggerOptions): Logger {
  return pino({
    name: options.name,
    level: options.level ?? "info",
    base: { service: options.name },
    redact: { paths: ["redisUrl", "*.redisUrl", "password", "*.password"], censor: "[redacted]" },
    serializers: { err: serializeError, error: serializeError },
    ...(options.isPretty
      ? {
          transport: {
            target: "pino-pretty",
            options: { colorize: true, ignore: "pid,hostname,service" },
          },
        }
      : {}),
  });
}
