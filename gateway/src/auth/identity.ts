/**
 * Who is calling: the identity a verified bearer token stands for, on the GraphQL context as
 * `auth`. Built once per request (see plugin.ts); the rules (rules.ts) read nothing else.
 */
export type AuthIdentity =
  /** No token (allowed only in `AUTH_MODE=optional`, for public fields). */
  | { kind: "anonymous" }
  /** A customer: the token's `sub` is its customer id. */
  | { kind: "customer"; customerId: string; expiresAtMs?: number }
  /** An operator: a token whose `roles` claim contains `operator`; `subject` is its `sub`. */
  | { kind: "operator"; subject: string; expiresAtMs?: number };

/**
 * `expiresAtMs`, where present, is the moment the gateway stops accepting the token: its `exp`
 * plus the tolerated clock skew. A subscription opened with it ends then (expiry.ts).
 */
export type SignedInIdentity = Exclude<AuthIdentity, { kind: "anonymous" }>;

/** The caller without a token. */
export const ANONYMOUS: AuthIdentity = Object.freeze({ kind: "anonymous" });

/**
 * Everyone's identity with `AUTH_MODE=off`: no token is read and every caller may do
 * everything, exactly as before authentication existed, so the rules keep one code path.
 */
export const AUTH_OFF_IDENTITY: AuthIdentity = Object.freeze({
  kind: "operator",
  subject: "auth-off",
});

/** The role (in the token's `roles` claim) that makes its holder an operator. */
export const OPERATOR_ROLE = "operator";

/**
 * What an identity may see, as a short string: `anonymous`, `operator` or `customer:<id>`.
 * Two subscriptions with the same operation, variables and scope key may share one execution:
 * everything the rules let one of them see, they let the other see. Expiry is not part of it:
 * each subscriber ends at its own token's expiry.
 */
export function authScopeKey(auth: AuthIdentity): string {
  switch (auth.kind) {
    case "anonymous":
      return "anonymous";
    case "operator":
      return "operator";
    case "customer":
      return `customer:${auth.customerId}`;
  }
}

/** Longest `sub` accepted: the same bound as placeOrder's `customerId`. */
export const MAX_SUBJECT_LENGTH = 128;

/**
 * The identity of a token whose signature and time claims were already verified, or a reason
 * it is refused: `sub` must be a non-empty string of at most 128 characters, `roles` (when
 * present) an array of strings.
 */
export function identityFromClaims(
  claims: { sub?: unknown; roles?: unknown; exp?: unknown },
  clockSkewMs: number,
): { identity: SignedInIdentity } | { reason: string } {
  const { sub, roles, exp } = claims;
  if (typeof sub !== "string" || sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH) {
    return { reason: "sub missing, not a string, or longer than 128 characters" };
  }
  if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === "string"))) {
    return { reason: "roles is not an array of strings" };
  }
  const expiry = typeof exp === "number" ? { expiresAtMs: exp * 1000 + clockSkewMs } : {};
  if (roles?.includes(OPERATOR_ROLE))
    return { identity: { kind: "operator", subject: sub, ...expiry } };
  return { identity: { kind: "customer", customerId: sub, ...expiry } };
}

/** The id `enduser.id` carries for an identity (none for the anonymous caller). */
export function endUserIdOf(auth: AuthIdentity): string | undefined {
  if (auth.kind === "customer") return auth.customerId;
  if (auth.kind === "operator") return auth.subject;
  return undefined;
}

/** When the identity's token stops being accepted, in ms since the epoch; undefined: never. */
export function expiresAtMsOf(auth: AuthIdentity): number | undefined {
  return auth.kind === "anonymous" ? undefined : auth.expiresAtMs;
}
