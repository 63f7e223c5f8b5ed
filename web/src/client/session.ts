/**
 * The operator's token for this browser session. Kept in `sessionStorage` (gone when the tab
 * closes, never shared with other tabs' sessions), sent only as an `Authorization` header,
 * never put in a URL.
 */
const KEY = "conveyor.operatorToken";

/** The stored token, if any. */
export function readToken(): string | undefined {
  try {
    return globalThis.sessionStorage?.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the token for this browser session. */
export function saveToken(token: string): void {
  globalThis.sessionStorage?.setItem(KEY, token);
}

/** Forgets the token (sign-out, expiry, refusal). */
export function clearToken(): void {
  globalThis.sessionStorage?.removeItem(KEY);
}

/** A pasted token, without spaces or a `Bearer ` someone copied along with it. */
export function normalizeToken(input: string): string {
  return input.trim().replace(/^bearer\s+/i, "");
}

/** Whether a GraphQL result's errors include UNAUTHENTICATED. */
export function isUnauthenticated(
  errors: ReadonlyArray<{ extensions?: unknown }> | undefined,
): boolean {
  return (errors ?? []).some(
    (error) => (error.extensions as { code?: unknown } | undefined)?.code === "UNAUTHENTICATED",
  );
}
