/** The Node version the repository asks for is stated once and repeated faithfully. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./compose-file.ts";

const read = (path: string) => readFile(join(repoRoot, path), "utf8");

describe("the Node version", () => {
  it("is the same in package.json's engines, .nvmrc, the README and the Dockerfile", async () => {
    const manifest = JSON.parse(await read("package.json")) as { engines: { node: string } };
    const range = manifest.engines.node;
    const major = /^>=(\d+)\.0\.0 <(\d+)$/.exec(range);
    expect(major, `engines.node is "${range}": one major, >=N.0.0 <N+1`).not.toBeNull();
    const [, lowest, below] = major ?? [];
    expect(Number(below)).toBe(Number(lowest) + 1);

    expect((await read(".nvmrc")).trim()).toBe(lowest);
    const readme = await read("README.md");
    const requirement = /You need Node\.js ([^\n]*)/.exec(readme)?.[1] ?? "";
    expect(requirement).toMatch(new RegExp(`^${lowest}\\b`));
    expect(requirement).toContain(`\`${range}\``);
    expect(readme).not.toMatch(/Node\.js \d+ or later/);
    expect(await read("Dockerfile")).toMatch(new RegExp(`ARG NODE_IMAGE=node:${lowest}[-.]`));
  });
});
