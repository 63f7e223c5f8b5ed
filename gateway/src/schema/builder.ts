import SchemaBuilder from "@pothos/core";
import type { GatewayContext } from "./context.ts";

/** The one Pothos builder every type family of the schema registers with. */
export const builder = new SchemaBuilder<{
  Context: GatewayContext;
  Scalars: {
    DateTime: { Input: string; Output: string };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
}>({ defaultFieldNullability: false });

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

builder.scalarType("DateTime", {
  description: "A point in time, as an ISO 8601 string in UTC (2024-01-31T12:00:00.000Z).",
  serialize: (value) => value,
  parseValue: (value) => {
    if (typeof value !== "string" || Number.isNaN(Date.parse(value))) {
      throw new TypeError("DateTime must be an ISO 8601 string");
    }
    return value;
  },
});

builder.scalarType("JSON", {
  description: "Any JSON value: an event's payload, as published.",
  serialize: (value) => value,
  parseValue: (value) => value,
});
