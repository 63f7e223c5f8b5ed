import { gatewayError } from "../errors.ts";
import type { AuthIdentity } from "./identity.ts";

/** A pending expiry: `promise` resolves when the token expires (never, without an expiry). */
export interface Expiry {
  readonly promise: Promise<void>;
  /** Forgets the timer; the promise then never resolves. Idempotent. */
  cancel(): void;
}

/** Longest delay one Node timer takes (about 24.8 days); longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * When the identity's token stops being accepted (`expiresAtMs`), independent of any
 * transport: a subscription races its next event against `promise`, and ends when it wins.
 * `now` is for tests.
 */
export function untilExpiry(auth: AuthIdentity, now: () => number = Date.now): Expiry {
  const expiresAtMs = auth.kind === "anonymous" ? undefined : auth.expiresAtMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let isCancelled = false;
  const promise = new Promise<void>((resolve) => {
    if (expiresAtMs === undefined) return;
    const wait = () => {
      if (isCancelled) return;
      const remainingMs = expiresAtMs - now();
      if (remainingMs <= 0) return resolve();
      timer = setTimeout(wait, Math.min(remainingMs, MAX_TIMER_MS));
      // A subscription's expiry alone must not keep a stopping process alive.
      timer.unref?.();
    };
    wait();
  });
  return {
    promise,
    cancel() {
      isCancelled = true;
      clearTimeout(timer);
    },
  };
}

/** The error a subscription ends with when its token expires. */
export function tokenExpiredError(): Error {
  return gatewayError(
    "UNAUTHENTICATED",
    "The token has expired; sign in again, then subscribe again with `after` = the cursor of the last event you saw.",
  );
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };
const EXPIRED: unique symbol = Symbol("expired");

/**
 * Wraps a subscription's stream so that it ends when the caller's token expires: at that
 * moment it yields `tokenExpiredError()` (which the field's resolver turns into a GraphQL error
 * with code UNAUTHENTICATED, on every transport) and ends, closing the source. Without an
 * expiry it passes everything through. `return()` closes the source and the timer.
 */
export function endAtExpiry<T>(
  source: AsyncIterator<T | Error>,
  auth: AuthIdentity,
): AsyncIterableIterator<T | Error> {
  const expiry = untilExpiry(auth);
  const expired = expiry.promise.then((): typeof EXPIRED => EXPIRED);
  let isClosed = false;

  function close(): void {
    if (isClosed) return;
    isClosed = true;
    expiry.cancel();
    void source.return?.();
  }

  const stream: AsyncIterableIterator<T | Error> = {
    [Symbol.asyncIterator]() {
      return stream;
    },
    async next() {
      if (isClosed) return DONE;
      const result: IteratorResult<T | Error> | typeof EXPIRED = await Promise.race([
        source.next(),
        expired,
      ]);
      if (isClosed) return DONE;
      if (result === EXPIRED) {
        close();
        return { done: false, value: tokenExpiredError() };
      }
      if (result.done) close();
      return result;
    },
    async return() {
      close();
      return DONE;
    },
  };
  return stream;
}

/**
 * A subscription's stream, opened only once `check` (its authorization rule, run when the
 * subscription starts) passed, and ending when the token expires ({@link endAtExpiry}). A
 * refusal is the stream's one item, an error, rather than a throw, so that every transport
 * answers it as a GraphQL error with its code (graphql-sse turns a throwing subscribe into an
 * HTTP 400). `return()` ends it at once, even while the check or the source is pending.
 */
export function authorizedStream<T>(
  check: () => void | Promise<void>,
  open: () => AsyncIterator<T | Error>,
  auth: AuthIdentity,
): AsyncIterableIterator<T | Error> {
  let inner: AsyncIterableIterator<T | Error> | undefined;
  let checked: Promise<Error | undefined> | undefined;
  let isClosed = false;
  const stream: AsyncIterableIterator<T | Error> = {
    [Symbol.asyncIterator]() {
      return stream;
    },
    async next() {
      if (isClosed) return DONE;
      if (!inner) {
        checked ??= (async () => check())().then(
          () => undefined,
          (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
        );
        const refusal = await checked;
        if (isClosed) return DONE;
        if (refusal) {
          isClosed = true;
          return { done: false, value: refusal };
        }
        inner = endAtExpiry(open(), auth);
      }
      return inner.next();
    },
    async return() {
      isClosed = true;
      await inner?.return?.();
      return DONE;
    },
  };
  return stream;
}
