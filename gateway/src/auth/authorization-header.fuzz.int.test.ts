import { connect } from "node:net";
import fc from "fast-check";
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../errors.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";
import { signToken } from "./sign.ts";

/**
 * Property-based fuzzing of the Authorization header through real HTTP, against a gateway with
 * `AUTH_MODE=required`. Whatever the header holds, the gateway answers (401 with
 * UNAUTHENTICATED, or 400 from Node's HTTP parser for bytes HTTP forbids), never a 500, never
 * crashes, and never takes a forged token for an operator's. Replay a failure with
 * `FUZZ_SEED=<seed> npx vitest run gateway/src/auth/authorization-header.fuzz`.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const settings = {
  numRuns: RUNS,
  ...(SEED === undefined ? {} : { seed: SEED }),
  endOnFailure: true,
};
const SECRET = "fuzzing-secret-0123456789abcdef-0123";
const QUERY = JSON.stringify({ query: "{ pipelineHealth { deadLetterCount } }" });
const KNOWN_CODES = new Set<string>(ERROR_CODES);

/** Header values fetch sends: printable ASCII (the raw-socket test sends every other byte). */
const latin1 = fc
  .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) })
  .filter((value) => value.trim() === value);
const base64urlText = fc.string({
  unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
});
const jwtLike = fc
  .tuple(base64urlText, base64urlText, base64urlText)
  .map((parts) => parts.join("."));
const claims = fc.record(
  {
    sub: fc.oneof(fc.string(), fc.constant("ops"), fc.integer(), fc.constant(null)),
    roles: fc.oneof(fc.constant(["operator"]), fc.array(fc.string()), fc.string(), fc.jsonValue()),
    exp: fc.oneof(fc.integer(), fc.constant(4_102_444_800), fc.double(), fc.string()),
    nbf: fc.oneof(fc.integer(), fc.string()),
    iss: fc.string(),
  },
  { requiredKeys: [] },
);
const header = fc.oneof(
  latin1,
  latin1.map((value) => `Bearer ${value}`),
  jwtLike.map((token) => `Bearer ${token}`),
  fc
    .tuple(
      fc.constantFrom("Bearer", "bearer", "BEARER", "Basic", "Token", ""),
      fc.string(),
      jwtLike,
    )
    .map(([scheme, gap, token]) => `${scheme}${gap.replace(/[^\x20-\x7e]/g, "")}${token}`.trim()),
  fc.integer({ min: 8_000, max: 16_000 }).map((length) => `Bearer ${"a".repeat(length)}.b.c`),
);

async function post(test: TestGateway, authorization: string) {
  const response = await fetch(test.gateway.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization },
    body: QUERY,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function expectRefused(answer: { status: number; body: Record<string, unknown> }, label: string) {
  expect(answer.status, label).toBe(401);
  const errors = answer.body.errors as Array<{ extensions?: { code?: string } }>;
  expect(errors[0]?.extensions?.code, label).toBe("UNAUTHENTICATED");
  expect(answer.body.data ?? null, label).toBeNull();
}

describe("the Authorization header, fuzzed", () => {
  it("is answered UNAUTHENTICATED whatever it holds, never with a 500", async () => {
    const test = await startTestGateway({ AUTH_MODE: "required", AUTH_JWT_SECRET: SECRET });
    await fc.assert(
      fc.asyncProperty(header, async (value) => {
        const answer = await post(test, value);
        const codes = ((answer.body.errors ?? []) as Array<{ extensions?: { code?: string } }>).map(
          (error) => error.extensions?.code ?? "",
        );
        expect(answer.status, value).toBeLessThan(500);
        for (const code of codes) expect(KNOWN_CODES.has(code), code).toBe(true);
        // An empty header is no header: anonymous, refused as well in required mode.
        expectRefused(answer, value);
      }),
      settings,
    );
    expect((await fetch(test.gateway.url.replace("/graphql", "/readyz"))).status).toBe(200);
  });

  it("never takes a token whose claims were changed for an operator's", async () => {
    const test = await startTestGateway({ AUTH_MODE: "required", AUTH_JWT_SECRET: SECRET });
    const genuine = await signToken(SECRET, { subject: "alice" });
    const [head, , signature] = genuine.split(".");
    expect((await post(test, `Bearer ${genuine}`)).status).toBe(200);
    await fc.assert(
      fc.asyncProperty(
        claims,
        fc.constantFrom("HS256", "none", "RS256", "HS512"),
        async (payload, alg) => {
          const forgedPayload = base64url.encode(JSON.stringify(payload));
          const forgedHead = base64url.encode(JSON.stringify({ alg, typ: "JWT" }));
          for (const token of [
            `${head}.${forgedPayload}.${signature}`,
            `${forgedHead}.${forgedPayload}.${signature}`,
            `${forgedHead}.${forgedPayload}.`,
          ]) {
            expectRefused(await post(test, `Bearer ${token}`), token);
          }
        },
      ),
      { ...settings, numRuns: Math.ceil(RUNS / 3) },
    );
  });

  it("survives raw bytes in the header, below what fetch allows", async () => {
    const test = await startTestGateway({ AUTH_MODE: "required", AUTH_JWT_SECRET: SECRET });
    const bytes = fc.uint8Array({ minLength: 0, maxLength: 300 }).map((array) =>
      // CR and LF would end the header line; the rest goes as is.
      Buffer.from(array.filter((byte) => byte !== 0x0d && byte !== 0x0a)),
    );
    await fc.assert(
      fc.asyncProperty(bytes, async (value) => {
        const status = await rawRequest(test.gateway.port, value);
        expect([400, 401], value.toString("hex")).toContain(status);
      }),
      { ...settings, numRuns: Math.ceil(RUNS / 3) },
    );
    expect((await fetch(test.gateway.url.replace("/graphql", "/readyz"))).status).toBe(200);
  });
});

/** One POST over a raw socket, the header's bytes as given; resolves the status code. */
function rawRequest(port: number, authorization: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      received += chunk;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
      if (status && received.includes("\r\n\r\n")) {
        socket.destroy();
        resolve(Number(status));
      }
    });
    socket.on("error", reject);
    socket.write(
      Buffer.concat([
        Buffer.from(
          `POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(QUERY)}\r\nconnection: close\r\nauthorization: `,
          "latin1",
        ),
        authorization,
        Buffer.from(`\r\n\r\n${QUERY}`, "latin1"),
      ]),
    );
  });
}
