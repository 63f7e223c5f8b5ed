import { listProducts, type Product, restock } from "@conveyor/catalog";
import { operatorOnly } from "../auth/rules.ts";
import { gatewayError } from "../errors.ts";
import { builder } from "./builder.ts";
import { MoneyRef } from "./money.ts";

const MAX_RESTOCK_QUANTITY = 1_000_000;

/** The GraphQL `Product` type. */
export const ProductRef = builder.objectRef<Product>("Product").implement({
  description: "A product of the catalog, with its live stock.",
  fields: (t) => ({
    sku: t.exposeID("sku"),
    name: t.exposeString("name"),
    price: t.field({
      type: MoneyRef,
      resolve: (product) => ({ amountCents: product.priceCents, currency: product.currency }),
    }),
    stock: t.exposeInt("stock", { description: "Units available to reserve now." }),
  }),
});

builder.queryFields((t) => ({
  products: t.field({
    type: [ProductRef],
    description: "The catalog, sorted by sku, with live stock.",
    resolve: (_root, _args, { services }) => listProducts(services.redis, services.keys),
  }),
}));

const RestockInputRef = builder.inputType("RestockInput", {
  fields: (t) => ({
    sku: t.id({ required: true }),
    quantity: t.int({ required: true, description: `1 to ${MAX_RESTOCK_QUANTITY}.` }),
    idempotencyKey: t.string({
      description:
        "Up to 128 characters. Retrying with the same key adds nothing more and returns the product; the same key with another sku or quantity is refused (IDEMPOTENCY_CONFLICT). Keys are kept for a day.",
    }),
  }),
});

const RestockPayloadRef = builder.objectRef<{ product: Product }>("RestockPayload").implement({
  fields: (t) => ({
    product: t.field({
      type: ProductRef,
      description: "The product, with its new stock.",
      resolve: (payload) => payload.product,
    }),
  }),
});

builder.mutationFields((t) => ({
  restock: t.field({
    type: RestockPayloadRef,
    description: "Adds stock to a product (operators only).",
    args: { input: t.arg({ type: RestockInputRef, required: true }) },
    resolve: async (_root, { input }, { services, auth }) => {
      operatorOnly(auth);
      const sku = String(input.sku);
      const idempotencyKey = input.idempotencyKey ?? undefined;
      if (input.quantity < 1 || input.quantity > MAX_RESTOCK_QUANTITY) {
        throw gatewayError(
          "BAD_USER_INPUT",
          `quantity must be between 1 and ${MAX_RESTOCK_QUANTITY}`,
        );
      }
      if (sku.length === 0 || sku.length > 64) {
        throw gatewayError("BAD_USER_INPUT", "sku must be 1 to 64 characters");
      }
      if (
        idempotencyKey !== undefined &&
        (idempotencyKey.length === 0 || idempotencyKey.length > 128)
      ) {
        throw gatewayError("BAD_USER_INPUT", "idempotencyKey must be 1 to 128 characters");
      }
      const result = await restock(services.redis, services.keys, sku, input.quantity, {
        idempotencyKey,
      });
      switch (result.outcome) {
        case "restocked":
          return { product: result.product };
        case "unknown-sku":
          throw gatewayError("UNKNOWN_SKU", `Unknown sku: ${sku}`, { skus: [sku] });
        case "idempotency-conflict":
          throw gatewayError(
            "IDEMPOTENCY_CONFLICT",
            "This idempotencyKey was already used for another restock",
          );
      }
    },
  }),
}));
