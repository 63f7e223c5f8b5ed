/** Conveyor's apps and where each one starts (relative to the repository root). */
export const APPS = {
  gateway: "gateway/src/main.ts",
  inventory: "services/inventory/src/main.ts",
  payment: "services/payment/src/main.ts",
  shipment: "services/shipment/src/main.ts",
} as const;

/** The name of one of Conveyor's apps. */
export type AppName = keyof typeof APPS;
