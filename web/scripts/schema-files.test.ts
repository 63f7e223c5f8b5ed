// @vitest-environment node
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

describe("the dashboard's copy of the gateway schema", () => {
  // In a child process: the gateway's schema and graphql must be one module instance, which
  // Vitest's own module loading would split in two.
  it("matches the gateway's current schema (else: npm run schema -w @conveyor/web)", async () => {
    const script = join(import.meta.dirname, "print-schema.ts");
    const result = await promisify(execFile)(process.execPath, [script, "--check"]).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  }, 30_000);
});
