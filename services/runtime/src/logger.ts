import { type Logger, pino } from "pino";

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
