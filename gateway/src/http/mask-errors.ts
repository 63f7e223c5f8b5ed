import { type MaskError, maskError } from "graphql-yoga";
import { gatewayError, isRedisUnavailable } from "../errors.ts";

/**
 * Yoga's error masking, except for a Redis outage: that is no bug to hide but a state the client
 * can act on, so it gets its own code and says what to do, in production too.
 */
export const maskGatewayError: MaskError = (error, message, isDev) => {
  if (isRedisUnavailable(error)) {
    return gatewayError(
      "UNAVAILABLE",
      "Conveyor's data store is unreachable right now; nothing was done. Retry shortly (a subscription resumes with after = its last cursor).",
    );
  }
  return maskError(error, message, isDev);
};
