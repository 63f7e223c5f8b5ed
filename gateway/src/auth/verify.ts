import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from "jose";
import { identityFromClaims, type SignedInIdentity } from "./identity.ts";

/** Options of {@link createTokenVerifier}: exactly one of `secret` and `jwksUrl`. */
export interface TokenVerifierOptions {
  /** The HS256 key (`AUTH_JWT_SECRET`). Only HS256 tokens are then accepted. */
  secret?: string | undefined;
  /**
   * A JSON Web Key Set of public keys (`AUTH_JWKS_URL`). Only RS256 and ES256 tokens are then
   * accepted. The set is fetched on first use, cached (10 min), and fetched again (at most
   * every 30 s) when a token names a key id it does not hold: keys rotate without a restart.
   */
  jwksUrl?: string | undefined;
  /** The `iss` every token must carry, when set. */
  issuer?: string | undefined;
  /** The `aud` every token must carry, when set. */
  audience?: string | undefined;
  /** Clock difference tolerated on `exp` and `nbf`. */
  clockSkewSeconds: number;
  /** Least time between two fetches of the key set (jose's default: 30 s); for tests. */
  jwksCooldownMs?: number | undefined;
}

/**
 * A token's verdict. `reason` says why a token was refused, for the log, in words of the check
 * that failed (never any of the token's contents); `isExpired` lets the client be told to sign
 * in again rather than that its token is wrong.
 */
export type TokenVerdict =
  | { isValid: true; identity: SignedInIdentity }
  | { isValid: false; reason: string; isExpired: boolean };

/** Checks a bearer token; never throws. */
export type VerifyToken = (token: string) => Promise<TokenVerdict>;

/** Longest token looked at: real ones are well under 2 KiB; anything longer is refused unread. */
export const MAX_TOKEN_LENGTH = 8 * 1024;

/** A compact JWS: three base64url parts (the signature may not be empty, so no `alg: none`). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Makes the verifier of bearer tokens (JWTs), with jose. What it refuses:
 * - `alg: none` (jose never verifies an unsecured token) and any algorithm but the configured
 *   key's: HS256 with a secret, RS256/ES256 with a key set. So an RS256 public key can never be
 *   used as an HMAC secret (algorithm confusion), nor a secret checked against an RSA token;
 * - a bad signature, an unknown key id, a malformed token or one over 8 KiB;
 * - no `exp`, an `exp` in the past or an `nbf` in the future (beyond the clock skew);
 * - another `iss` or `aud` than the configured ones;
 * - a `sub` that is missing or too long, `roles` that is not an array of strings.
 */
export function createTokenVerifier(options: TokenVerifierOptions): VerifyToken {
  const { secret, jwksUrl, issuer, audience, clockSkewSeconds, jwksCooldownMs } = options;
  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[];
  if (secret !== undefined && jwksUrl === undefined) {
    key = new TextEncoder().encode(secret);
    algorithms = ["HS256"];
  } else if (jwksUrl !== undefined && secret === undefined) {
    key = createRemoteJWKSet(new URL(jwksUrl), {
      timeoutDuration: 5_000,
      ...(jwksCooldownMs !== undefined ? { cooldownDuration: jwksCooldownMs } : {}),
    });
    algorithms = ["RS256", "ES256"];
  } else {
    throw new Error("createTokenVerifier needs exactly one of secret and jwksUrl");
  }
  const clockSkewMs = clockSkewSeconds * 1000;

  return async function verify(token) {
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
      return { isValid: false, reason: "not a compact JWS", isExpired: false };
    }
    try {
      // jose's overloads differ only by the key's type; both branches take the same options.
      const { payload } = await jwtVerify(token, key as Uint8Array, {
        algorithms,
        clockTolerance: clockSkewSeconds,
        requiredClaims: ["exp", "sub"],
        ...(issuer !== undefined ? { issuer } : {}),
        ...(audience !== undefined ? { audience } : {}),
      });
      const result = identityFromClaims(payload, clockSkewMs);
      if ("reason" in result) return { isValid: false, reason: result.reason, isExpired: false };
      return { isValid: true, identity: result.identity };
    } catch (error) {
      return {
        isValid: false,
        reason: reasonOf(error),
        isExpired: error instanceof errors.JWTExpired,
      };
    }
  };
}

/** What failed, by jose's error code and the claim it names; never the token or its values. */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTClaimValidationFailed) return `${error.code} (${error.claim})`;
  if (error instanceof errors.JOSEError) return error.code;
  // A key set that cannot be fetched (network) ends up here, by name only.
  return error instanceof Error ? error.name : "unreadable token";
}
