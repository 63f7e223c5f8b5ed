import http, { type RefinedResponse } from "k6/http";
import { GATEWAY_URL } from "./config.ts";
import { newTraceparent } from "./trace.ts";

/** A GraphQL response body. */
export interface GraphQLBody<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** One GraphQL call: the HTTP response and its parsed body (undefined if not JSON). */
export interface GraphQLResult<T> {
  response: RefinedResponse<"text">;
  body: GraphQLBody<T> | undefined;
}

/**
 * POSTs a GraphQL operation to the gateway with a fresh `traceparent`. `name` tags the request
 * (`name:placeOrder`), so thresholds and results can be read per operation.
 */
export function graphql<T>(
  name: string,
  query: string,
  variables: Record<string, unknown> = {},
): GraphQLResult<T> {
  const response = http.post(GATEWAY_URL, JSON.stringify({ query, variables }), {
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      traceparent: newTraceparent(),
    },
    tags: { name },
    responseType: "text",
  });
  let body: GraphQLBody<T> | undefined;
  try {
    body = JSON.parse(response.body as string) as GraphQLBody<T>;
  } catch {
    body = undefined;
  }
  return { response, body };
}

export const PLACE_ORDER = `mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id status total { amountCents currency } } }
}`;

export const PRODUCTS = "query Products { products { sku stock } }";

export const RESTOCK = `mutation Restock($input: RestockInput!) {
  restock(input: $input) { product { sku stock } }
}`;

export const ORDER_STATUS = "query OrderStatus($id: ID!) { order(id: $id) { id status } }";

/** The placeOrder payload. */
export interface PlacedOrder {
  placeOrder: { order: { id: string; status: string; total: { amountCents: number } } };
}

/** The products query payload. */
export interface Products {
  products: Array<{ sku: string; stock: number }>;
}

/** The most `restock` adds in one call (the gateway's own bound). */
const MAX_RESTOCK = 1_000_000;

/**
 * Adds at least `units` of stock to every product through the `restock` mutation, so that a long
 * run never sells out; resolves the skus. Throws if the gateway cannot be reached.
 */
export function restockAll(units: number): string[] {
  const listed = graphql<Products>("products", PRODUCTS);
  const products = listed.body?.data?.products;
  if (!products || products.length === 0) {
    throw new Error(
      `cannot list products at ${GATEWAY_URL}: ${listed.response.status} ${listed.response.body}`,
    );
  }
  for (const { sku, stock } of products) {
    let missing = units - stock;
    while (missing > 0) {
      const quantity = Math.min(MAX_RESTOCK, missing);
      const restocked = graphql("restock", RESTOCK, { input: { sku, quantity } });
      if (restocked.body?.errors?.length) {
        throw new Error(`restock ${sku} failed: ${JSON.stringify(restocked.body.errors)}`);
      }
      missing -= quantity;
    }
  }
  return products.map((product) => product.sku);
}
