export * from "./envelope.ts";
export * from "./errors.ts";
export * from "./event-types.ts";
export * from "./ids.ts";
export * from "./keys.ts";
export * from "./partitions.ts";
export * from "./payloads.ts";
export * from "./slots.ts";
