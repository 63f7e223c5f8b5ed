import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";

/** Re-renders every `intervalMs` and gives the time then (for "5 s ago" labels). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** Calls `callback` every `intervalMs` while mounted (and `isEnabled`). */
export function useInterval(callback: () => void, intervalMs: number, isEnabled = true): void {
  const callbackRef = useRef(callback);
  callbackRef.current = callback;
  useEffect(() => {
    if (!isEnabled) return;
    const timer = setInterval(() => callbackRef.current(), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs, isEnabled]);
}

/**
 * Calls `callback` once, `delayMs` after `signal` last changed (while it is defined): a burst of
 * events causes one refetch, not one each.
 */
export function useDebouncedOnChange(signal: unknown, callback: () => void, delayMs: number): void {
  const callbackRef = useRef(callback);
  callbackRef.current = callback;
  useEffect(() => {
    if (signal === undefined) return;
    const timer = setTimeout(() => callbackRef.current(), delayMs);
    return () => clearTimeout(timer);
  }, [signal, delayMs]);
}

/**
 * The last defined `value` seen for `key`: a query that fails while the gateway restarts keeps
 * showing what it showed (urql drops a result's data on a network error); a new key starts over.
 */
export function useLastKnown<T>(value: T | undefined, key = ""): T | undefined {
  const ref = useRef<{ key: string; value: T | undefined }>({ key, value });
  if (ref.current.key !== key) ref.current = { key, value: undefined };
  if (value !== undefined) ref.current.value = value;
  return ref.current.value;
}

const ORDER_HASH = /^#\/orders\/([\w-]{1,64})$/;

function subscribeToHash(listener: () => void): () => void {
  window.addEventListener("hashchange", listener);
  return () => window.removeEventListener("hashchange", listener);
}

/** The order shown in the journey, kept in the URL (`#/orders/<id>`) so it can be shared. */
export function useSelectedOrderId(): [string | undefined, (orderId: string) => void] {
  const hash = useSyncExternalStore(subscribeToHash, () => window.location.hash);
  const orderId = ORDER_HASH.exec(hash)?.[1];
  const select = useCallback((id: string) => {
    window.location.hash = `#/orders/${id}`;
  }, []);
  return [orderId, select];
}
