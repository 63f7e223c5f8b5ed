import { describe, expect, it } from "vitest";
import { authModeOf, GatewayEnv } from "./env.ts";

describe("gateway settings", () => {
  it("have hardened defaults that let real clients through", () => {
    const env = GatewayEnv.parse({});
    expect(env).toMatchObject({
      MAX_QUERY_DEPTH: 10,
      MAX_QUERY_ALIASES: 30,
      MAX_QUERY_COST: 5_000,
      MAX_QUERY_TOKENS: 2_000,
      MAX_QUERY_DIRECTIVES: 20,
      MAX_REQUEST_BODY_BYTES: 1_000_000,
      REQUEST_TIMEOUT_MS: 30_000,
      HEADERS_TIMEOUT_MS: 10_000,
      SSE_MAX_BUFFERED_BYTES: 1_048_576,
      SSE_STALL_TIMEOUT_MS: 30_000,
      TRUST_PROXY: 0,
      HSTS_MAX_AGE_SECONDS: 0,
    });
    // Left to NODE_ENV unless set: CORS, rate limit, field suggestions, GraphiQL, introspection.
    expect(env.CORS_ORIGINS).toBeUndefined();
    expect(env.PLACE_ORDER_RATE_LIMIT).toBeUndefined();
  });

  it("read CORS_ORIGINS as a comma-separated list of origins", () => {
    expect(
      GatewayEnv.parse({ CORS_ORIGINS: "https://shop.example, http://localhost:5173" })
        .CORS_ORIGINS,
    ).toEqual(["https://shop.example", "http://localhost:5173"]);
    expect(GatewayEnv.parse({ CORS_ORIGINS: "*" }).CORS_ORIGINS).toEqual(["*"]);
    expect(GatewayEnv.parse({ CORS_ORIGINS: "" }).CORS_ORIGINS).toEqual([]);
    for (const bad of ["https://shop.example/", "shop.example", "ftp://shop.example"]) {
      expect(GatewayEnv.safeParse({ CORS_ORIGINS: bad }).success, bad).toBe(false);
    }
  });

  it("read TRUST_PROXY as a number of proxies, true meaning one", () => {
    expect(GatewayEnv.parse({ TRUST_PROXY: "true" }).TRUST_PROXY).toBe(1);
    expect(GatewayEnv.parse({ TRUST_PROXY: "false" }).TRUST_PROXY).toBe(0);
    expect(GatewayEnv.parse({ TRUST_PROXY: "2" }).TRUST_PROXY).toBe(2);
    expect(GatewayEnv.safeParse({ TRUST_PROXY: "-1" }).success).toBe(false);
  });

  it("refuse an event-stream limit below 64 KiB, except 0 (off)", () => {
    expect(GatewayEnv.safeParse({ SSE_MAX_BUFFERED_BYTES: "1000" }).success).toBe(false);
    expect(GatewayEnv.parse({ SSE_MAX_BUFFERED_BYTES: "0" }).SSE_MAX_BUFFERED_BYTES).toBe(0);
  });

  it("turn authentication off in development and on in production, which needs a key", () => {
    const secret = "s".repeat(32);
    expect(authModeOf(GatewayEnv.parse({}))).toBe("off");
    expect(authModeOf(GatewayEnv.parse({ NODE_ENV: "test" }))).toBe("off");
    const production = GatewayEnv.safeParse({ NODE_ENV: "production" });
    expect(production.success).toBe(false);
    expect(production.error?.issues[0]?.message).toMatch(/AUTH_JWT_SECRET .*AUTH_JWKS_URL/);
    const configured = GatewayEnv.parse({ NODE_ENV: "production", AUTH_JWT_SECRET: secret });
    expect(authModeOf(configured)).toBe("required");
    expect(authModeOf(GatewayEnv.parse({ NODE_ENV: "production", AUTH_MODE: "off" }))).toBe("off");
    // Exactly one way to check signatures; a short secret is refused; empty means unset.
    const both = {
      AUTH_MODE: "optional",
      AUTH_JWT_SECRET: secret,
      AUTH_JWKS_URL: "https://id.example/jwks",
    };
    expect(GatewayEnv.safeParse(both).success).toBe(false);
    expect(GatewayEnv.safeParse({ AUTH_MODE: "required" }).success).toBe(false);
    expect(GatewayEnv.safeParse({ AUTH_MODE: "required", AUTH_JWT_SECRET: "short" }).success).toBe(
      false,
    );
    expect(GatewayEnv.safeParse({ AUTH_MODE: "maybe" }).success).toBe(false);
    expect(
      GatewayEnv.parse({ AUTH_MODE: "", AUTH_JWT_SECRET: "", AUTH_JWKS_URL: "" }),
    ).toMatchObject({
      AUTH_MODE: undefined,
      AUTH_JWT_SECRET: undefined,
      AUTH_JWKS_URL: undefined,
    });
    expect(GatewayEnv.parse({}).AUTH_CLOCK_SKEW_SECONDS).toBe(5);
    expect(GatewayEnv.parse({}).TRACE_ENDUSER_ID).toBe(false);
  });
});
