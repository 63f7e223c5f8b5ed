import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { clientAddressOf } from "./client-address.ts";

function request(remoteAddress: string, forwardedFor?: string | string[]): IncomingMessage {
  return {
    socket: { remoteAddress },
    headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor },
  } as unknown as IncomingMessage;
}

describe("client address", () => {
  it("is the socket's address unless proxies are trusted, whatever X-Forwarded-For says", () => {
    expect(clientAddressOf(request("10.0.0.5", "6.6.6.6"), 0)).toBe("10.0.0.5");
  });

  it("behind one proxy is the address that proxy appended, not what the client wrote", () => {
    // The client sent "X-Forwarded-For: 6.6.6.6"; the proxy appended the address it saw.
    expect(clientAddressOf(request("10.0.0.2", "6.6.6.6, 203.0.113.7"), 1)).toBe("203.0.113.7");
    expect(clientAddressOf(request("10.0.0.2", "203.0.113.7"), 1)).toBe("203.0.113.7");
  });

  it("behind two proxies is the address the outer one saw; repeated headers are one list", () => {
    expect(clientAddressOf(request("10.0.0.3", ["6.6.6.6, 203.0.113.7", "10.0.0.2"]), 2)).toBe(
      "203.0.113.7",
    );
  });

  it("falls back to the leftmost address when the chain is shorter than the proxies", () => {
    expect(clientAddressOf(request("10.0.0.2"), 1)).toBe("10.0.0.2");
    expect(clientAddressOf(request("10.0.0.2", "203.0.113.7"), 3)).toBe("203.0.113.7");
  });

  it("never grows beyond 64 characters", () => {
    expect(clientAddressOf(request("10.0.0.2", "x".repeat(10_000)), 1)).toHaveLength(64);
  });
});
