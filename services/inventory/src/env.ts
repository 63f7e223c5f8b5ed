import { workerEnvShape } from "@conveyor/runtime";
import { z } from "zod";

/** The inventory service's settings: the worker's, plus the catalog's initial stock. */
export const inventoryEnvShape = {
  ...workerEnvShape,
  HEALTH_PORT: workerEnvShape.HEALTH_PORT.default(4101),
  /** Units of each seeded product a fresh catalog starts with (existing stock is kept). */
  CATALOG_INITIAL_STOCK: z.coerce.number().int().nonnegative().default(1_000),
};

/** The parsed settings of the inventory service. */
export type InventoryEnv = z.infer<z.ZodObject<typeof inventoryEnvShape>>;
