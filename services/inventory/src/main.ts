import { seedCatalog } from "@conveyor/catalog";
import { createWorker, parseEnv, runUntilSignal } from "@conveyor/runtime";
import { inventoryEnvShape } from "./env.ts";
import { createInventoryHandler, INVENTORY_STREAMS } from "./handler.ts";

const env = parseEnv(inventoryEnvShape);
const worker = createWorker({
  name: "inventory",
  env,
  streams: INVENTORY_STREAMS,
  createHandler: createInventoryHandler,
  setup: ({ redis, keys }) => seedCatalog(redis, keys, { initialStock: env.CATALOG_INITIAL_STOCK }),
});
runUntilSignal(worker, worker.logger);
