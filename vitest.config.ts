import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        // Services, gateway and whole-system tests: real Redis (one private redis-server per
        // run, a key prefix per test) and real processes.
        extends: true,
        test: {
          name: "node",
          include: [
            "services/*/src/**/*.test.ts",
            "gateway/src/**/*.test.ts",
            "observability/telemetry/src/**/*.test.ts",
            "e2e/**/*.test.ts",
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
