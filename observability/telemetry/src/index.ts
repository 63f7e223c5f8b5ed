export * from "./hooks.ts";
export * from "./settings.ts";
