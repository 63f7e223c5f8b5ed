import { builder } from "./builder.ts";
import "./dead-letter.ts";
import "./event.ts";
import "./health.ts";
import "./order.ts";
import "./product.ts";
import "./viewer.ts";

/** The gateway's GraphQL schema, built once from every type family. */
export const schema = builder.toSchema({ sortSchema: false });

export type { GatewayContext, GatewayServices } from "./context.ts";
