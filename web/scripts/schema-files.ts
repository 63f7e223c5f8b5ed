import { join } from "node:path";
import { minifyIntrospection, outputIntrospectionFile } from "gql.tada/internal";
import { introspectionFromSchema, printSchema } from "graphql";
import { schema } from "../../gateway/src/schema/index.ts";

const webRoot = join(import.meta.dirname, "..");

/** The files generated from the gateway's schema, committed so that the build needs no gateway. */
export const SCHEMA_FILES = {
  /** The SDL, for editors and GraphQLSP. */
  sdl: join(webRoot, "schema.graphql"),
  /** gql.tada's introspection types: what types every query and its result. */
  introspection: join(webRoot, "src", "graphql-env.d.ts"),
} as const;

/** Renders both files from the gateway's current schema (what `npm run schema` writes). */
export function renderSchemaFiles(): Record<keyof typeof SCHEMA_FILES, string> {
  return {
    sdl: `${printSchema(schema)}\n`,
    introspection: outputIntrospectionFile(minifyIntrospection(introspectionFromSchema(schema)), {
      fileType: ".d.ts",
      shouldPreprocess: false,
    }),
  };
}
