import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { startRedisServer } from "./redis-server.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The private redis-server of this test run; each test still uses its own key prefix. */
    redisUrl: string;
  }
}

/** Starts one private redis-server for the whole run and stops it at the end. */
export default async function setup(project: TestProject) {
  const redis = await startRedisServer();
  project.provide("redisUrl", redis.url);
  return async () => {
    await redis.stop();
  };
}
