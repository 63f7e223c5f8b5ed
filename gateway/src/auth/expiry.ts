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

/**
 * Wraps a subscription's stream so that it ends when the caller's token expires: at that
 * moment it yields `tokenExpiredError()` (which the field's resolver turns into a GraphQL error
 * with code UNAUTHENTICATED, on every transport) and ends, closing the source. Without an
 * expiry it is the source itself. `return()` closes the source and the timer.
 */
export function endAtExpiry<T>(
  source: AsyncIterator<T | Error>,
  auth: AuthIdentity,
): AsyncIterableIterator<T | Error> {
  const expiresAtMs = auth.kind === "anonymous" ? undefined : auth.expiresAtMs;
  if (expiresAtMs === undefined) return asIterable(source);
  const expiry = untilExpiry(auth);
  let state: "open" | "expired" | "closed" = "open";
  // The pending next(), woken by the expiry. Not a race against the expiry's promise: each race
  // would leave a reaction on it until the token expires, one per event.
  let wake: ((result: IteratorResult<T | Error>) => void) | undefined;

  function close(): void {
    if (state === "closed") return;
    state = "closed";
    expiry.cancel();
    void source.return?.();
  }

  void expiry.promise.then(() => {
    if (state !== "open") return;
    state = "expired";
    void source.return?.();
    const resolve = wake;
    wake = undefined;
    if (resolve) {
      state = "closed";
      resolve({ done: false, value: tokenExpiredError() });
    }
  });

  const stream: AsyncIterableIterator<T | Error> = {
    [Symbol.asyncIterator]() {
      return stream;
    },
    next() {
      if (state === "expired") {
        state = "closed";
        return Promise.resolve({ done: false, value: tokenExpiredError() });
      }
      if (state === "closed") return Promise.resolve(DONE);
      return new Promise<IteratorResult<T | Error>>((resolve, reject) => {
        wake = resolve;
        source.next().then(
          (result) => {
            if (wake !== resolve) return;
            wake = undefined;
            if (result.done) close();
            resolve(result);
          },
          (error: unknown) => {
            if (wake !== resolve) return;
            wake = undefined;
            close();
            reject(error);
          },
        );
      });
    },
    async return() {
      close();
      const resolve = wake;
      wake = undefined;
      resolve?.(DONE);
      return DONE;
    },
  };
  return stream;
}

/** The iterator itself, iterable. */
function asIterable<T>(iterator: AsyncIterator<T>): AsyncIterableIterator<T> {
  if (Symbol.asyncIterator in iterator) return iterator as AsyncIterableIterator<T>;
  const iterable: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]: () => iterable,
    next: () => iterator.next(),
    return: async () => (await iterator.return?.()) ?? { done: true, value: undefined },
  };
  return iterable;
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
