import type { IncomingMessage } from "node:http";

/** Longest client identity kept: it names a Redis key, and a forged header must not bloat it. */
const MAX_ADDRESS_LENGTH = 64;

/**
 * Who is calling, for per-client limits: the socket's remote address, or, behind
 * `trustedProxies` reverse proxies, the address the outermost trusted proxy saw.
 *
 * Each proxy appends the address it received the request from to `X-Forwarded-For`, so the
 * entries a client wrote itself come first and cannot be trusted. Read from the right, the
 * socket's peer is the nearest proxy; the N-th address from the right of the whole chain is the
 * one the N-th (outermost trusted) proxy saw: the client. With fewer entries than proxies, the
 * leftmost one is used.
 */
export function clientAddressOf(
  request: IncomingMessage | undefined,
  trustedProxies: number,
): string {
  const socketAddress = request?.socket?.remoteAddress ?? "unknown";
  if (trustedProxies === 0 || !request) return socketAddress;
  const header = request.headers["x-forwarded-for"];
  const forwarded = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  const chain = [...forwarded, socketAddress];
  const client = chain[Math.max(0, chain.length - 1 - trustedProxies)] ?? socketAddress;
  return client.slice(0, MAX_ADDRESS_LENGTH);
}
