import type { Logger } from "@conveyor/runtime";
import type { YogaLogger } from "graphql-yoga";

type Level = "debug" | "info" | "warn" | "error";

/** Routes Yoga's own log lines (masked errors among them) into the process's pino logger. */
export function yogaLoggerFor(logger: Logger): YogaLogger {
  const log =
    (level: Level) =>
    (...args: unknown[]) => {
      const error = args.find((arg) => arg instanceof Error);
      const message = args.filter((arg) => typeof arg === "string").join(" ") || "yoga";
      if (error) logger[level]({ err: error }, message);
      else logger[level]({ details: args.filter((arg) => typeof arg !== "string") }, message);
    };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}
