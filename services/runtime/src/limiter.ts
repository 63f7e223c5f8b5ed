/** Bounds how many entries are in flight at once; `acquire` waits for a free slot. */
export interface Limiter {
  readonly inFlight: number;
  readonly free: number;
  acquire(): Promise<void>;
  release(): void;
  /** Resolves once at least one slot is free. */
  whenFree(): Promise<void>;
}

/** Makes a limiter of `capacity` slots. */
export function createLimiter(capacity: number): Limiter {
  let inFlight = 0;
  const waiters: Array<() => void> = [];
  const wake = () => {
    while (inFlight < capacity && waiters.length > 0) waiters.shift()?.();
  };
  return {
    get inFlight() {
      return inFlight;
    },
    get free() {
      return capacity - inFlight;
    },
    async acquire() {
      while (inFlight >= capacity) await new Promise<void>((resolve) => waiters.push(resolve));
      inFlight += 1;
    },
    release() {
      inFlight -= 1;
      wake();
    },
    async whenFree() {
      while (inFlight >= capacity) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}
