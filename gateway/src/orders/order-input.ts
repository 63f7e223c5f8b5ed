import { z } from "zod";

/** Most lines one order may have. */
export const MAX_ORDER_LINES = 50;
/** Most units of one sku one line may ask for. */
export const MAX_LINE_QUANTITY = 1000;

/**
 * placeOrder's input as the API accepts it, checked at the edge before anything is read or
 * published. GraphQL already checked the types; this checks sizes, ranges and formats.
 */
export const PlaceOrderInput = z.object({
  customerId: z
    .string()
    .min(1, "customerId must not be empty")
    .max(128, "customerId must be at most 128 characters"),
  items: z
    .array(
      z.object({
        sku: z
          .string()
          .min(1, "sku must not be empty")
          .max(64, "sku must be at most 64 characters"),
        quantity: z
          .number()
          .int()
          .min(1, "quantity must be at least 1")
          .max(MAX_LINE_QUANTITY, `quantity must be at most ${MAX_LINE_QUANTITY}`),
      }),
    )
    .min(1, "an order needs at least one item")
    .max(MAX_ORDER_LINES, `an order may have at most ${MAX_ORDER_LINES} items`),
  paymentToken: z
    .string()
    .regex(
      /^tok_[A-Za-z0-9_]{1,64}$/,
      "paymentToken must look like tok_visa (tok_ then up to 64 letters, digits or _)",
    )
    .nullish()
    .transform((token) => token ?? "tok_visa"),
  idempotencyKey: z
    .string()
    .min(1, "idempotencyKey must not be empty")
    .max(128, "idempotencyKey must be at most 128 characters")
    .nullish()
    .transform((key) => key ?? undefined),
});
export type PlaceOrderInput = z.infer<typeof PlaceOrderInput>;
