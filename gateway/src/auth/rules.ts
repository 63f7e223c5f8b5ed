import { gatewayError } from "../errors.ts";
import type { AuthIdentity, SignedInIdentity } from "./identity.ts";

/**
 * The authorization rules, one function per rule; the schema's resolvers call them and decide
 * nothing else about who may do what. `auth` is the context's identity (identity.ts); with
 * `AUTH_MODE=off` it is an operator, so every rule allows everything.
 *
 * | rule                   | anonymous       | customer                        | operator |
 * | ---------------------- | --------------- | ------------------------------- | -------- |
 * | {@link signedIn}       | UNAUTHENTICATED | yes                             | yes      |
 * | {@link operatorOnly}   | UNAUTHENTICATED | FORBIDDEN                       | yes      |
 * | {@link customerIdForNewOrder} | UNAUTHENTICATED | its own id only, else FORBIDDEN | any id |
 * | {@link canSeeOrdersOf} | no              | its own orders                  | all      |
 */

/** The caller, who must have signed in; else UNAUTHENTICATED. */
export function signedIn(auth: AuthIdentity): SignedInIdentity {
  if (auth.kind === "anonymous") {
    throw gatewayError(
      "UNAUTHENTICATED",
      "Sign in: send a token as `Authorization: Bearer <token>`.",
    );
  }
  return auth;
}

/**
 * Operators only: the firehose (`events`), `restock`, pipeline health. A customer gets
 * FORBIDDEN, the anonymous caller UNAUTHENTICATED.
 */
export function operatorOnly(auth: AuthIdentity): void {
  if (signedIn(auth).kind !== "operator") {
    throw gatewayError("FORBIDDEN", "Only an operator may do this.");
  }
}

/**
 * The customer a new order is placed for: a customer places orders for itself (the id comes
 * from its token; naming another customer is FORBIDDEN); an operator for anyone it names.
 */
export function customerIdForNewOrder(auth: AuthIdentity, requestedCustomerId: string): string {
  const caller = signedIn(auth);
  if (caller.kind === "operator") return requestedCustomerId;
  if (requestedCustomerId !== caller.customerId) {
    throw gatewayError("FORBIDDEN", "A customer may place orders only for itself.");
  }
  return caller.customerId;
}

/**
 * Whether the caller may see orders (and their events) of this customer: a customer its own,
 * an operator all. Another customer's order is answered like one that does not exist (null,
 * NOT_FOUND), never with a hint that it does.
 */
export function canSeeOrdersOf(auth: AuthIdentity, customerId: string): boolean {
  if (auth.kind === "operator") return true;
  return auth.kind === "customer" && auth.customerId === customerId;
}

/**
 * Which customer's orders a list shows: `undefined` for an operator (every order), the caller's
 * own id for a customer; UNAUTHENTICATED for the anonymous caller.
 */
export function orderListScope(auth: AuthIdentity): string | undefined {
  const caller = signedIn(auth);
  return caller.kind === "operator" ? undefined : caller.customerId;
}

/**
 * Whether the caller may watch this order's events (`orderEvents`): an operator any order
 * (even one not placed yet), a customer only an order of its own; another customer's order,
 * or one that does not exist, is NOT_FOUND alike.
 */
export async function watchableOrder(
  auth: AuthIdentity,
  orderId: string,
  orders: { get(orderId: string): Promise<{ customerId: string } | undefined> },
): Promise<void> {
  if (signedIn(auth).kind === "operator") return;
  const order = orderId.length > 0 && orderId.length <= 64 ? await orders.get(orderId) : undefined;
  if (!order || !canSeeOrdersOf(auth, order.customerId)) {
    throw gatewayError("NOT_FOUND", "No order with this id.");
  }
}
