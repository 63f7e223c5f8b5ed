/**
 * Thrown by a handler for an entry that can never succeed (a business rule, not an outage):
 * the runtime sends the entry to the dead-letter stream at once instead of retrying it.
 */
export class NonRetryableError extends Error {
  override readonly name = "NonRetryableError";
}
