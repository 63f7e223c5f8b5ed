import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  SignJWT,
  UnsecuredJWT,
} from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "./sign.ts";
import { createTokenVerifier, type TokenVerdict } from "./verify.ts";

const SECRET = "a-test-secret-that-is-long-enough-32+";
const now = () => Math.floor(Date.now() / 1000);

describe("HS256 tokens (AUTH_JWT_SECRET)", () => {
  const verify = createTokenVerifier({ secret: SECRET, clockSkewSeconds: 5 });

  it("accepts a customer's token: sub is the customer id, expiry is exp plus the skew", async () => {
    const token = await signToken(SECRET, { subject: "alice", expiresInSeconds: 60 });
    const verdict = await verify(token);
    expect(verdict).toMatchObject({
      isValid: true,
      identity: { kind: "customer", customerId: "alice" },
    });
    const expiresAtMs = verdict.isValid ? verdict.identity.expiresAtMs : 0;
    expect(expiresAtMs).toBeGreaterThan(Date.now() + 60_000);
    expect(expiresAtMs).toBeLessThanOrEqual(Date.now() + 66_000);
  });

  it("makes an operator of a token whose roles contain operator", async () => {
    const token = await signToken(SECRET, { subject: "ops-1", isOperator: true });
    expect(await verify(token)).toMatchObject({
      isValid: true,
      identity: { kind: "operator", subject: "ops-1" },
    });
  });

  const refusals: Array<[string, () => Promise<string>, Partial<TokenVerdict>]> = [
    [
      "expired",
      () => signToken(SECRET, { subject: "a", expiresInSeconds: -60 }),
      { isExpired: true, reason: "ERR_JWT_EXPIRED" },
    ],
    [
      "not yet valid",
      () => signToken(SECRET, { subject: "a", notBeforeInSeconds: 120 }),
      { isExpired: false, reason: "ERR_JWT_CLAIM_VALIDATION_FAILED (nbf)" },
    ],
    [
      "signed with another secret",
      () => signToken(`${SECRET}-other`, { subject: "a" }),
      { reason: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" },
    ],
    [
      "without exp",
      () =>
        new SignJWT({})
          .setProtectedHeader({ alg: "HS256" })
          .setSubject("a")
          .sign(new TextEncoder().encode(SECRET)),
      { reason: "ERR_JWT_CLAIM_VALIDATION_FAILED (exp)" },
    ],
    [
      "without sub",
      () =>
        new SignJWT({})
          .setProtectedHeader({ alg: "HS256" })
          .setExpirationTime("1h")
          .sign(new TextEncoder().encode(SECRET)),
      { reason: "ERR_JWT_CLAIM_VALIDATION_FAILED (sub)" },
    ],
    [
      "with roles that are not an array of strings",
      () =>
        new SignJWT({ roles: "operator" })
          .setProtectedHeader({ alg: "HS256" })
          .setSubject("a")
          .setExpirationTime("1h")
          .sign(new TextEncoder().encode(SECRET)),
      { reason: "roles is not an array of strings" },
    ],
    [
      "alg none",
      async () => new UnsecuredJWT({ sub: "a", roles: ["operator"], exp: now() + 60 }).encode(),
      { reason: "not a compact JWS" },
    ],
    [
      "alg none with a made-up signature",
      async () => {
        const [header, payload] = new UnsecuredJWT({ sub: "a", exp: now() + 60 })
          .encode()
          .split(".");
        return `${header}.${payload}.${base64url.encode("x")}`;
      },
      { reason: "ERR_JOSE_ALG_NOT_ALLOWED" },
    ],
    [
      "HS512 with the right secret (only HS256 is allowed)",
      () =>
        new SignJWT({})
          .setProtectedHeader({ alg: "HS512" })
          .setSubject("a")
          .setExpirationTime("1h")
          .sign(new TextEncoder().encode(SECRET)),
      { reason: "ERR_JOSE_ALG_NOT_ALLOWED" },
    ],
    ["garbage", async () => "not.a.token", { isValid: false }],
    ["huge", async () => `${"a".repeat(9000)}.b.c`, { reason: "not a compact JWS" }],
  ];
  for (const [name, make, expected] of refusals) {
    it(`refuses a token ${name}`, async () => {
      expect(await verify(await make())).toMatchObject({ isValid: false, ...expected });
    });
  }

  it("tolerates a few seconds of clock skew on exp and nbf, not more", async () => {
    expect(
      (await verify(await signToken(SECRET, { subject: "a", expiresInSeconds: -2 }))).isValid,
    ).toBe(true);
    expect(
      (await verify(await signToken(SECRET, { subject: "a", notBeforeInSeconds: 2 }))).isValid,
    ).toBe(true);
    expect(
      (await verify(await signToken(SECRET, { subject: "a", expiresInSeconds: -8 }))).isValid,
    ).toBe(false);
  });

  it("checks iss and aud when they are set", async () => {
    const strict = createTokenVerifier({
      secret: SECRET,
      issuer: "https://id.example",
      audience: "conveyor",
      clockSkewSeconds: 0,
    });
    const good = { subject: "a", issuer: "https://id.example", audience: "conveyor" };
    expect((await strict(await signToken(SECRET, good))).isValid).toBe(true);
    expect(
      await strict(await signToken(SECRET, { ...good, issuer: "https://evil.example" })),
    ).toMatchObject({
      isValid: false,
      reason: "ERR_JWT_CLAIM_VALIDATION_FAILED (iss)",
    });
    expect(await strict(await signToken(SECRET, { ...good, audience: "other" }))).toMatchObject({
      isValid: false,
      reason: "ERR_JWT_CLAIM_VALIDATION_FAILED (aud)",
    });
    expect((await strict(await signToken(SECRET, { subject: "a" }))).isValid).toBe(false);
  });
});

describe("RS256/ES256 tokens from a key set (AUTH_JWKS_URL)", () => {
  let keys: JWK[] = [];
  let fetchCount = 0;
  const server = createServer((_request, response) => {
    fetchCount++;
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify({ keys }));
  });
  let jwksUrl = "";
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function keyPair(alg: "RS256" | "ES256", kid: string) {
    const pair = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: "sig" };
    const sign = (claims: Record<string, unknown> = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg, kid })
        .setSubject("bob")
        .setExpirationTime("1h")
        .sign(pair.privateKey);
    return { ...pair, jwk, sign };
  }

  it("accepts RS256 and ES256, fetches the set once, and picks up a rotated key", async () => {
    const rsa = await keyPair("RS256", "rsa-1");
    const ec = await keyPair("ES256", "ec-1");
    keys = [rsa.jwk, ec.jwk];
    fetchCount = 0;
    const verify = createTokenVerifier({ jwksUrl, clockSkewSeconds: 5, jwksCooldownMs: 0 });
    expect(await verify(await rsa.sign())).toMatchObject({
      isValid: true,
      identity: { customerId: "bob" },
    });
    expect(await verify(await ec.sign({ roles: ["operator"] }))).toMatchObject({
      isValid: true,
      identity: { kind: "operator", subject: "bob" },
    });
    expect(fetchCount).toBe(1);

    // The provider rotates: a new key id, the old one gone. The set is fetched again.
    const rotated = await keyPair("RS256", "rsa-2");
    keys = [rotated.jwk];
    expect(await verify(await rotated.sign())).toMatchObject({ isValid: true });
    expect(fetchCount).toBe(2);
  });

  it("refuses HS256 tokens, even one whose secret is the public key (algorithm confusion)", async () => {
    const rsa = await keyPair("RS256", "rsa-c");
    keys = [rsa.jwk];
    const verify = createTokenVerifier({ jwksUrl, clockSkewSeconds: 5 });
    const pem = await exportSPKI(rsa.publicKey);
    for (const secret of [pem, JSON.stringify(rsa.jwk), rsa.jwk.n ?? ""]) {
      const forged = await new SignJWT({ roles: ["operator"] })
        .setProtectedHeader({ alg: "HS256", kid: "rsa-c" })
        .setSubject("mallory")
        .setExpirationTime("1h")
        .sign(new TextEncoder().encode(secret));
      expect(await verify(forged)).toMatchObject({
        isValid: false,
        reason: "ERR_JOSE_ALG_NOT_ALLOWED",
      });
    }
  });

  it("refuses an RS256 token when the gateway is set up with a secret", async () => {
    const rsa = await keyPair("RS256", "rsa-d");
    const verify = createTokenVerifier({ secret: SECRET, clockSkewSeconds: 5 });
    expect(await verify(await rsa.sign())).toMatchObject({
      isValid: false,
      reason: "ERR_JOSE_ALG_NOT_ALLOWED",
    });
  });

  it("refuses a token signed by a key that is not in the set", async () => {
    const known = await keyPair("ES256", "ec-known");
    const stranger = await keyPair("ES256", "ec-known");
    keys = [known.jwk];
    const verify = createTokenVerifier({ jwksUrl, clockSkewSeconds: 5 });
    expect(await verify(await stranger.sign())).toMatchObject({
      isValid: false,
      reason: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
    });
  });
});
