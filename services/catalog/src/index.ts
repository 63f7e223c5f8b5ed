export * from "./prices.ts";
export * from "./products.ts";
export * from "./reservations.ts";
export * from "./seed.ts";
