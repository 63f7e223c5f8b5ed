import { randomBytes } from "k6/crypto";

function hex(bytes: number): string {
  const view = new Uint8Array(randomBytes(bytes));
  let out = "";
  for (const byte of view) out += (byte < 16 ? "0" : "") + byte.toString(16);
  return out;
}

/**
 * A fresh W3C `traceparent` (version 00, sampled): every request of a load run starts its own
 * trace, so the run shows up in Jaeger with the load generator as the root's parent.
 */
export function newTraceparent(): string {
  let traceId = hex(16);
  // An all-zero id is invalid; randomBytes makes one about never, but never is cheap to ensure.
  if (/^0+$/.test(traceId)) traceId = `1${traceId.slice(1)}`;
  return `00-${traceId}-${hex(8)}-01`;
}
