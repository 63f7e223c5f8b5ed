import { createGraphQLError } from "graphql-yoga";

/**
 * Every error code the gateway's API answers with, in `extensions.code`. A closed set, so clients
 * can switch on it; anything else is an unexpected error, masked in production.
 */
export const ERROR_CODES = [
  /** The input breaks a rule (size, range, format); nothing was done. */
  "BAD_USER_INPUT",
  /** An order line names a sku the catalog does not sell. */
  "UNKNOWN_SKU",
  /** The idempotency key was already used by a different request (placeOrder: of the same customer). */
  "IDEMPOTENCY_CONFLICT",
  /** The thing asked for does not exist. */
  "NOT_FOUND",
  /** A subscriber fell too far behind and was closed; it resumes with `after` = its last cursor. */
  "SLOW_SUBSCRIBER",
  /** The `after` cursor points before the oldest event still kept; some events are gone. */
  "CURSOR_EXPIRED",
  /** Too many placeOrder calls from one client; retry later. */
  "RATE_LIMITED",
  /**
   * The operation is over a limit (depth, aliases, cost, tokens or directives, named in
   * `extensions.limit`); nothing ran.
   */
  "QUERY_TOO_COMPLEX",
  /**
   * Redis, where every order and event lives, cannot be reached right now (down, restarting or
   * still loading its data); nothing was done. Retry shortly; a subscription resumes with
   * `after` = its last cursor.
   */
  "UNAVAILABLE",
  /**
   * No valid credentials: no bearer token where one is needed, or a token that is malformed,
   * badly signed, expired, not yet valid or for another issuer or audience (HTTP 401). A
   * subscription whose token expires ends with it. Sign in again (a new token) and retry.
   */
  "UNAUTHENTICATED",
  /** The token is valid, but its holder may not do this (a customer acting for another). */
  "FORBIDDEN",
  /** Something unexpected failed; details are logged, not sent. */
  "INTERNAL_SERVER_ERROR",
  /** Set by Yoga: the HTTP request is not a GraphQL request (bad JSON, no query, a batch). */
  "BAD_REQUEST",
  /** Set by Yoga: the request body is larger than `MAX_REQUEST_BODY_BYTES` (HTTP 413). */
  "REQUEST_ENTITY_TOO_LARGE",
  /** Set by Yoga: the document is not valid GraphQL syntax. */
  "GRAPHQL_PARSE_FAILED",
  /** Set by Yoga: the operation does not fit the schema (unknown field, wrong type, Int overflow). */
  "GRAPHQL_VALIDATION_FAILED",
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Makes the GraphQL error the client sees for a known failure: a clear message and its code. */
export function gatewayError(
  code: ErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): Error {
  return createGraphQLError(message, { extensions: { code, ...details } });
}

/** Network failures of a Redis connection, as Node reports them. */
const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENOTFOUND",
]);

/**
 * Whether an error means Redis is out of reach rather than that something is wrong: ioredis
 * giving up on a command after its retries or on a closed connection, a network failure, or a
 * Redis that is still loading its data after a restart.
 */
export function isRedisUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 5) return false;
  const { name, message } = error;
  const code = (error as NodeJS.ErrnoException).code;
  if (
    name === "MaxRetriesPerRequestError" ||
    message.startsWith("Connection is closed") ||
    message.startsWith("LOADING") ||
    (code !== undefined && CONNECTION_ERROR_CODES.has(code))
  ) {
    return true;
  }
  // GraphQL wraps a resolver's error in `originalError`; Node chains errors in `cause`.
  const { originalError } = error as { originalError?: unknown };
  return isRedisUnavailable(originalError, depth + 1) || isRedisUnavailable(error.cause, depth + 1);
}
