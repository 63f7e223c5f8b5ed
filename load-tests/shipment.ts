/**
 * Shipment alone: feeds its input stream (`payment.processed`) with valid entries at RATE/s
 * through Redis and measures how fast the shipment service drains them. See lib/service-throughput.ts
 * and the README for the settings (RATE, BATCH, DURATION, DRAIN_SECONDS, REDIS_URL, STREAM_PREFIX).
 */
import { serviceThroughputTest } from "./lib/service-throughput.ts";

const test = serviceThroughputTest("shipment");

export const options = test.options;
export const setup = test.setup;
export const feed = test.feed;
export const observe = test.observe;
