import { SignJWT } from "jose";
import { OPERATOR_ROLE } from "./identity.ts";

/** Claims of a token made by {@link signToken}. */
export interface TokenClaims {
  /** The customer id, or the operator's name. */
  subject: string;
  /** Makes it an operator's token. */
  isOperator?: boolean;
  /** Lifetime from now; negative for a token already expired. Default: 12 hours. */
  expiresInSeconds?: number;
  /** `nbf`, from now (positive: not valid yet). */
  notBeforeInSeconds?: number;
  issuer?: string;
  audience?: string;
}

/**
 * Signs an HS256 token the gateway accepts with `AUTH_JWT_SECRET=<secret>`: for development
 * (`npm start -- --auth` prints two) and tests. Real deployments get tokens from their
 * identity provider.
 */
export async function signToken(secret: string, claims: TokenClaims): Promise<string> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims.isOperator ? { roles: [OPERATOR_ROLE] } : {})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.subject)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + (claims.expiresInSeconds ?? 12 * 3600));
  if (claims.notBeforeInSeconds !== undefined)
    jwt.setNotBefore(nowSeconds + claims.notBeforeInSeconds);
  if (claims.issuer !== undefined) jwt.setIssuer(claims.issuer);
  if (claims.audience !== undefined) jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
