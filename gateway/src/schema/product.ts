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

builder.mutationFields((t) => ({
  restock: t.field({
    type: ProductRef,
    description: "Adds stock to a product (operators only).",
    args: {
      sku: t.arg.id({ required: true }),
      quantity: t.arg.int({ required: true, description: `1 to ${MAX_RESTOCK_QUANTITY}.` }),
      idempotencyKey: t.arg.string({
        description:
          "Up to 128 characters. Retrying with the same key adds nothing more and returns the product; the same key with another sku or quantity is refused (IDEMPOTENCY_CONFLICT). Keys are kept for a day.",
      }),
    },
    resolve: async (_root, args, { services, auth }) => {
      operatorOnly(auth);
      const sku = String(args.sku);
      const idempotencyKey = args.idempotencyKey ?? undefined;
      if (args.quantity < 1 || args.quantity > MAX_RESTOCK_QUANTITY) {
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
      const result = await restock(services.redis, services.keys, sku, args.quantity, {
        idempotencyKey,
      });
      switch (result.outcome) {
        case "restocked":
          return result.product;
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
