import { describe, expect, it, vi } from "vitest";
import { authorizedStream, endAtExpiry, untilExpiry } from "./expiry.ts";
import { ANONYMOUS, type AuthIdentity } from "./identity.ts";

/** A source that yields `items` and then waits forever, recording whether it was closed. */
function pendingSource<T>(items: T[]) {
  const state = { isClosed: false };
  const iterator: AsyncIterator<T> = {
    next: () =>
      items.length > 0
        ? Promise.resolve({ done: false, value: items.shift() as T })
        : new Promise(() => {}),
    return: async () => {
      state.isClosed = true;
      return { done: true, value: undefined };
    },
  };
  return { iterator, state };
}

const customer = (expiresAtMs?: number): AuthIdentity => ({
  kind: "customer",
  customerId: "alice",
  ...(expiresAtMs === undefined ? {} : { expiresAtMs }),
});

describe("closing subscriptions at token expiry", () => {
  it("resolves untilExpiry at the expiry, never without one, and not once cancelled", async () => {
    vi.useFakeTimers();
    try {
      const now = Date.now();
      let hasExpired = false;
      void untilExpiry(customer(now + 1_000)).promise.then(() => {
        hasExpired = true;
      });
      const cancelled = untilExpiry(customer(now + 1_000));
      let hasCancelledFired = false;
      void cancelled.promise.then(() => {
        hasCancelledFired = true;
      });
      cancelled.cancel();
      await vi.advanceTimersByTimeAsync(999);
      expect(hasExpired).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(hasExpired).toBe(true);
      expect(hasCancelledFired).toBe(false);
      expect(vi.getTimerCount()).toBe(0);
      untilExpiry(ANONYMOUS);
      untilExpiry(customer());
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("is the source itself without an expiry", () => {
    const source = pendingSource(["a"]);
    const iterable = { ...source.iterator, [Symbol.asyncIterator]: () => iterable };
    expect(endAtExpiry(iterable, customer())).toBe(iterable);
  });

  it("passes events through, then yields UNAUTHENTICATED at expiry and closes its source", async () => {
    const source = pendingSource(["a", "b"]);
    const stream = endAtExpiry<string>(source.iterator, customer(Date.now() + 100));
    expect(await stream.next()).toEqual({ done: false, value: "a" });
    expect(await stream.next()).toEqual({ done: false, value: "b" });
    const expired = await stream.next();
    expect(expired.value).toMatchObject({ extensions: { code: "UNAUTHENTICATED" } });
    expect(source.state.isClosed).toBe(true);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it("closes at once on return(), even while waiting for an event, which then ends", async () => {
    const source = pendingSource<string>([]);
    const stream = endAtExpiry<string>(source.iterator, customer(Date.now() + 60_000));
    const pending = stream.next();
    await stream.return?.();
    expect(source.state.isClosed).toBe(true);
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it("opens the source only when the rule passes, and yields the rule's error otherwise", async () => {
    const open = vi.fn(() => pendingSource(["a"]).iterator);
    const refused = authorizedStream(
      () => {
        throw new Error("no");
      },
      open,
      ANONYMOUS,
    );
    expect((await refused.next()).value).toMatchObject({ message: "no" });
    expect(await refused.next()).toEqual({ done: true, value: undefined });
    expect(open).not.toHaveBeenCalled();

    const allowed = authorizedStream(async () => {}, open, customer());
    expect(await allowed.next()).toEqual({ done: false, value: "a" });
    expect(open).toHaveBeenCalledTimes(1);
  });

  it("opens nothing when it is returned while its rule is still being checked", async () => {
    let pass: () => void = () => {};
    const open = vi.fn(() => pendingSource(["a"]).iterator);
    const stream = authorizedStream(
      () => new Promise<void>((resolve) => (pass = resolve)),
      open,
      customer(),
    );
    const first = stream.next();
    await stream.return?.();
    pass();
    expect(await first).toEqual({ done: true, value: undefined });
    expect(open).not.toHaveBeenCalled();
  });
});
