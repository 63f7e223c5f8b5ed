import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

// Node resolves `graphql` to its CommonJS build for every package (graphql 16 has no exports
// map); Vite would give the tests' own imports the ESM build, a second copy of graphql whose
// `instanceof` checks reject the schema. The tests get the one copy production has.
const graphql = createRequire(import.meta.url).resolve("graphql");

export default defineConfig({
  test: {
    projects: [
      {
        // Services, gateway and whole-system tests: real Redis (one private redis-server per
        // run, a key prefix per test) and real processes.
        extends: true,
        resolve: { alias: [{ find: /^graphql$/, replacement: graphql }] },
        test: {
          name: "node",
          include: [
            "services/*/src/**/*.test.ts",
            "gateway/src/**/*.test.ts",
            "observability/telemetry/src/**/*.test.ts",
            "e2e/**/*.test.ts",
            "bench/**/*.test.ts",
          ],
          globalSetup: ["./services/testkit/src/global-setup.ts"],
          pool: "forks",
          // Upper bounds for a loaded machine, where starting a system's processes alone can
          // take tens of seconds; a passing test takes a fraction of them.
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      "./web/vitest.config.ts",
    ],
  },
});
