import { request } from "node:http";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { startTestGateway } from "../testing/test-gateway.ts";
import { GRAPHIQL_ASSETS_PATH } from "./graphiql.ts";

/** The URLs of the scripts and styles a page loads. */
const assetUrlsOf = (html: string) =>
  [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? "");

describe("GraphiQL from the installed package", () => {
  it("renders a page whose every script, style and icon is served by the gateway itself", async () => {
    const test = await startTestGateway({ NODE_ENV: "development" });
    const base = test.gateway.url.replace("/graphql", "");
    const page = await (await fetch(test.gateway.url, { headers: { accept: "text/html" } })).text();
    const urls = assetUrlsOf(page);
    expect(urls.length).toBeGreaterThanOrEqual(4);
    for (const url of urls) {
      expect(url.startsWith(GRAPHIQL_ASSETS_PATH), url).toBe(true);
      const response = await fetch(`${base}${url}`);
      expect(response.status, url).toBe(200);
      expect(response.headers.get("cache-control")).toContain("immutable");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    }
    // No inline script: the options travel in a JSON data block.
    expect(page).not.toMatch(/<script>/);
    expect(page).toContain('<script type="application/json" id="graphiql-options">');
    expect(page).not.toMatch(/https?:\/\//);
  });

  it("serves the editor's workers, gzipped when asked, and nothing else under its path", async () => {
    const test = await startTestGateway({ NODE_ENV: "development" });
    const base = `${test.gateway.url.replace("/graphql", "")}${GRAPHIQL_ASSETS_PATH}`;
    const worker = await fetch(`${base}monacoeditorwork/graphql.worker..bundle.js`);
    expect(worker.status).toBe(200);
    expect(worker.headers.get("content-type")).toMatch(/^text\/javascript/);
    // fetch asks for gzip and undoes it: the body is the script.
    expect((await worker.text()).length).toBeGreaterThan(10_000);

    const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>(
      (resolve, reject) => {
        const req = request(`${base}graphiql.css`, { headers: { "accept-encoding": "gzip" } });
        req.on("response", (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () =>
            resolve({
              encoding: response.headers["content-encoding"],
              body: Buffer.concat(chunks),
            }),
          );
        });
        req.on("error", reject);
        req.end();
      },
    );
    expect(raw.encoding).toBe("gzip");
    expect(gunzipSync(raw.body).toString("utf8")).toContain(".graphiql-container");

    for (const path of ["package.json", "%2e%2e/%2e%2e/package.json", "yoga-graphiql.es.js", ""]) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(404);
    }
  });

  it("serves none of it when GraphiQL is off (production)", async () => {
    const test = await startTestGateway({ NODE_ENV: "production" });
    const base = test.gateway.url.replace("/graphql", "");
    const response = await fetch(`${base}${GRAPHIQL_ASSETS_PATH}yoga-graphiql.umd.js`);
    expect(response.status).toBe(404);
  });
});
