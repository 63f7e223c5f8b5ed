/**
 * Places orders at a steady rate from a process of its own, so that the placeOrder latency it
 * reports is the gateway's, not the wait of a bench process busy reading thousands of event
 * streams. Started by `startOrderFeeder`; answers "window" with what it placed since the last
 * ask, and "stop" by stopping.
 *
 *   node bench/lib/order-feeder.ts GATEWAY_URL ORDERS_PER_SECOND
 */
import { fork } from "node:child_process";
import { once } from "node:events";
import { steadyOrders } from "./fanout.ts";
import { createGatewayClient } from "./gateway-client.ts";

/** What the feeder placed since the previous ask. */
export interface FeederWindow {
  /** Orders accepted since it started. */
  placed: number;
  errors: number;
  /** placeOrder round trips since the previous ask, in ms. */
  latenciesMs: number[];
}

/** A running feeder process. */
export interface OrderFeeder {
  window(): Promise<FeederWindow>;
  stop(): Promise<void>;
}

/** Starts the feeder against a gateway at `ordersPerSecond`. */
export function startOrderFeeder(gatewayUrl: string, ordersPerSecond: number): OrderFeeder {
  const child = fork(new URL(import.meta.url), [gatewayUrl, String(ordersPerSecond)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = once(child, "exit");
  return {
    window() {
      const answer = once(child, "message").then(([message]) => message as FeederWindow);
      child.send("window");
      return answer;
    },
    async stop() {
      if (child.exitCode === null) child.send("stop");
      await exited;
    },
  };
}

if (import.meta.main) {
  const [gatewayUrl, rate] = process.argv.slice(2);
  const client = createGatewayClient(gatewayUrl as string, 16);
  const orders = steadyOrders(client, Number(rate));
  process.on("message", (message) => {
    if (message === "window") {
      const window: FeederWindow = {
        placed: orders.placed,
        errors: orders.errors,
        latenciesMs: orders.takeLatencies(),
      };
      process.send?.(window);
    } else if (message === "stop") {
      void orders.stop().then(() => {
        client.close();
        process.exit(0);
      });
    }
  });
}
