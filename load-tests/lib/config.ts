/**
 * Settings every script reads from the environment (`k6 run -e NAME=value`, or the shell's
 * environment), with the defaults of `npm start`.
 */

/** The gateway's GraphQL endpoint. */
export const GATEWAY_URL = __ENV.GATEWAY_URL || "http://localhost:4000/graphql";

/** The Redis the system uses (`npm start` runs its own on port 6380). */
export const REDIS_URL = __ENV.REDIS_URL || "redis://localhost:6380";

/** The key prefix of every stream and key (STREAM_PREFIX of the apps). */
export const STREAM_PREFIX = __ENV.STREAM_PREFIX || "conveyor:";

/** A number from the environment, or its default. */
export function numberFromEnv(name: string, fallback: number): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number, got ${raw}`);
  return value;
}

/** A string from the environment, or its default. */
export function stringFromEnv(name: string, fallback: string): string {
  const raw = __ENV[name];
  return raw === undefined || raw === "" ? fallback : raw;
}

/** The stream of one event type: `${prefix}{orders}:${type}` (see @conveyor/contract keys). */
export function streamKey(type: string): string {
  return `${STREAM_PREFIX}{orders}:${type}`;
}

/** The catalog's stock hash (sku → units). */
export const STOCK_KEY = `${STREAM_PREFIX}{catalog}:stock`;

/** The set of known skus. */
export const SKUS_KEY = `${STREAM_PREFIX}{catalog}:skus`;
