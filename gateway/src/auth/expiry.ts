import { gatewayError } from "../errors.ts";

/**
 * The error a subscription ends with when its token expires. The subscription multiplexer ends
 * each subscriber at its own token's expiry (`expiresAtMsOf`), whatever cohort it shares.
 */
export function tokenExpiredError(): Error {
  return gatewayError(
    "UNAUTHENTICATED",
    "The token has expired; sign in again, then subscribe again with `after` = the cursor of the last event you saw.",
  );
}
