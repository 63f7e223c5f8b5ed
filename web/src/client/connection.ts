/**
 * What the dashboard knows about its link to the gateway:
 * - `connecting`: first contact not made yet;
 * - `online`: the last request and every open stream got through;
 * - `reconnecting`: a stream broke or a request failed on the network; retrying.
 */
export type ConnectionState = "connecting" | "online" | "reconnecting";

/** Collects the state of each stream and of plain requests into one {@link ConnectionState}. */
export interface ConnectionMonitor {
  getState(): ConnectionState;
  /** Calls `listener` whenever the overall state changes; returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
  /** Sets the state of one source (a subscription's id, or `http`). */
  report(source: string, state: ConnectionState): void;
  /** Forgets a source that ended (an unsubscribed stream). */
  forget(source: string): void;
}

/** Makes an empty monitor: `connecting` until a source reports. */
export function createConnectionMonitor(): ConnectionMonitor {
  const sources = new Map<string, ConnectionState>();
  const listeners = new Set<() => void>();
  let state: ConnectionState = "connecting";
  let hasBeenOnline = false;

  function update(): void {
    const states = [...sources.values()];
    let next: ConnectionState;
    if (states.includes("reconnecting")) next = "reconnecting";
    else if (states.includes("connecting")) next = hasBeenOnline ? "reconnecting" : "connecting";
    else next = states.length > 0 || hasBeenOnline ? "online" : "connecting";
    if (next === "online") hasBeenOnline = true;
    if (next === state) return;
    state = next;
    for (const listener of [...listeners]) listener();
  }

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    report(source, sourceState) {
      // A stream that (re)connects while the gateway is known to be down reports `connecting`:
      // that is still a reconnection from the user's point of view.
      sources.set(source, sourceState);
      update();
    },
    forget(source) {
      if (sources.delete(source)) update();
    },
  };
}
