import { builder } from "./builder.ts";

/** An amount of money: integer cents and an ISO 4217 currency (never floats). */
export interface Money {
  amountCents: number;
  currency: string;
}

/** The GraphQL `Money` type. */
export const MoneyRef = builder.objectRef<Money>("Money").implement({
  description: "An amount in the smallest unit of its currency (cents), never a float.",
  fields: (t) => ({
    amountCents: t.exposeInt("amountCents"),
    currency: t.exposeString("currency", { description: "ISO 4217 code, like USD." }),
  }),
});
