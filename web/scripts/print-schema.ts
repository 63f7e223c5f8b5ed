/**
 * Writes web/schema.graphql and web/src/graphql-env.d.ts from the gateway's schema.
 * `--check` writes nothing and fails when either file is out of date.
 */
import { readFile, writeFile } from "node:fs/promises";
import { relative } from "node:path";
import { renderSchemaFiles, SCHEMA_FILES } from "./schema-files.ts";

const isCheck = process.argv.includes("--check");
const rendered = renderSchemaFiles();
let staleCount = 0;
for (const [name, path] of Object.entries(SCHEMA_FILES) as Array<
  [keyof typeof SCHEMA_FILES, string]
>) {
  const current = await readFile(path, "utf8").catch(() => "");
  if (current === rendered[name]) continue;
  staleCount++;
  if (isCheck)
    console.error(
      `${relative(process.cwd(), path)} is out of date: run npm run schema -w @conveyor/web`,
    );
  else {
    await writeFile(path, rendered[name]);
    console.log(`wrote ${relative(process.cwd(), path)}`);
  }
}
if (isCheck && staleCount > 0) process.exitCode = 1;
