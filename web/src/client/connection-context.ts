import { createContext, useContext, useSyncExternalStore } from "react";
import {
  type ConnectionMonitor,
  type ConnectionState,
  createConnectionMonitor,
} from "./connection.ts";

/** The monitor of the dashboard's link to the gateway (a fresh one by default, for tests). */
export const ConnectionContext = createContext<ConnectionMonitor>(createConnectionMonitor());

/** The current link state; re-renders when it changes. */
export function useConnectionState(): ConnectionState {
  const monitor = useContext(ConnectionContext);
  return useSyncExternalStore(monitor.subscribe, monitor.getState, monitor.getState);
}
