import { fileURLToPath } from "node:url";
import { getProducts } from "@conveyor/catalog";
import type { ServiceProcess, TestSystem } from "@conveyor/testkit";

/** The worker services an end-to-end test can start. */
export type WorkerName = "inventory" | "payment" | "shipment";

const entryOf = (name: WorkerName) =>
  fileURLToPath(new URL(`../services/${name}/src/main.ts`, import.meta.url));

/** Starts one worker service of the system as its own process; resolves once it is ready. */
export function startWorker(
  system: TestSystem,
  name: WorkerName,
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  return system.spawn({ name, entry: entryOf(name), env });
}

/** Starts inventory, payment and shipment, one process each. */
export async function startPipeline(
  system: TestSystem,
  env: Partial<Record<WorkerName, Record<string, string>>> = {},
): Promise<Record<WorkerName, ServiceProcess>> {
  const [inventory, payment, shipment] = await Promise.all(
    (["inventory", "payment", "shipment"] as const).map((name) =>
      startWorker(system, name, env[name]),
    ),
  );
  return { inventory, payment, shipment } as Record<WorkerName, ServiceProcess>;
}

/** Live stock of each sku, in the order given (NaN for an unknown sku). */
export async function stockOf(system: TestSystem, ...skus: string[]): Promise<number[]> {
  const products = await getProducts(system.redis, system.keys, skus);
  return skus.map((sku) => products.get(sku)?.stock ?? Number.NaN);
}
