export * from "./otlp-receiver.ts";
export * from "./ports.ts";
export * from "./process.ts";
export * from "./redis-server.ts";
export * from "./sse.ts";
export * from "./streams.ts";
export * from "./system.ts";
export * from "./wait.ts";
