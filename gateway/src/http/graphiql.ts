import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import type { GraphiQLOptions, Plugin } from "graphql-yoga";

const gzipAsync = promisify(gzip);
const require = createRequire(import.meta.url);

/** Where `@graphql-yoga/graphiql` keeps its built editor (a UMD bundle, its CSS and workers). */
const DIST_DIR = join(dirname(require.resolve("@graphql-yoga/graphiql/package.json")), "dist");
const VERSION = (require("@graphql-yoga/graphiql/package.json") as { version: string }).version;

/**
 * The URL path GraphiQL's files are served under. The package version is part of it, so the
 * files can be cached for good and an upgrade is never mixed with a cached old bundle.
 */
export const GRAPHIQL_ASSETS_PATH = `/graphql/graphiql/${VERSION}/`;

/**
 * Runs before the bundle: points Monaco's editor workers at this origin (Yoga's own page fetches
 * them from a CDN into blob: URLs), then renders GraphiQL with the options the page carries in a
 * JSON data block. A file of its own, not an inline script, so the page's policy forbids inline
 * scripts.
 */
const START_SCRIPT = `"use strict";
(function () {
  var base = document.currentScript.src.replace(/[^/]*$/, "");
  var workers = {
    editorWorkerService: base + "monacoeditorwork/editor.worker.bundle.js",
    json: base + "monacoeditorwork/json.worker.bundle.js",
    graphql: base + "monacoeditorwork/graphql.worker..bundle.js"
  };
  self.MonacoEnvironment = {
    globalAPI: false,
    getWorkerUrl: function (_moduleId, label) { return workers[label] || workers.editorWorkerService; }
  };
  document.addEventListener("DOMContentLoaded", function () {
    var options = JSON.parse(document.getElementById("graphiql-options").textContent);
    YogaGraphiQL.renderYogaGraphiQL(document.getElementById("root"), options);
  });
})();
`;

/** The dashboard's icon (web/public/favicon.svg), so that the page needs nothing from the dashboard. */
const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><title>Conveyor</title><rect width="32" height="32" rx="8" fill="#4f46e5"/><path d="M7 20h18M7 12h18" stroke="#fff" stroke-width="3" stroke-linecap="round"/><circle cx="11" cy="12" r="2.6" fill="#a5b4fc"/><circle cx="19" cy="20" r="2.6" fill="#a5b4fc"/></svg>';

interface Asset {
  /** The file under the package's `dist/`, or the content itself. */
  source: { file: string } | { text: string };
  contentType: string;
}

/** Every file the page loads: nothing else under the assets path is served. */
const ASSETS: Record<string, Asset> = {
  "start.js": { source: { text: START_SCRIPT }, contentType: "text/javascript; charset=utf-8" },
  "favicon.svg": { source: { text: FAVICON }, contentType: "image/svg+xml" },
  "yoga-graphiql.umd.js": {
    source: { file: "yoga-graphiql.umd.js" },
    contentType: "text/javascript; charset=utf-8",
  },
  "graphiql.css": { source: { file: "graphiql.css" }, contentType: "text/css; charset=utf-8" },
  ...Object.fromEntries(
    ["editor.worker.bundle.js", "json.worker.bundle.js", "graphql.worker..bundle.js"].map(
      (name) => [
        `monacoeditorwork/${name}`,
        {
          source: { file: `monacoeditorwork/${name}` },
          contentType: "text/javascript; charset=utf-8",
        },
      ],
    ),
  ),
};

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (character) =>
      ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[character] ?? "",
  );

/**
 * GraphiQL's page, for Yoga's `renderGraphiQL`: the same editor as Yoga's default page, with
 * every script, style and worker loaded from this gateway, so it works without internet access
 * and under a policy with no inline script (see `GRAPHIQL_CONTENT_SECURITY_POLICY`).
 */
export function renderLocalGraphiQL(options: GraphiQLOptions): string {
  const title = options.title ?? "GraphiQL";
  // A JSON data block is never executed; `<` is escaped so that no value can close the element.
  const json = JSON.stringify(options).replace(/</g, "\\u003c");
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    `<link rel="icon" href="${GRAPHIQL_ASSETS_PATH}favicon.svg">`,
    `<link rel="stylesheet" href="${GRAPHIQL_ASSETS_PATH}graphiql.css">`,
    "</head>",
    '<body id="body" class="no-focus-outline">',
    "<noscript>GraphiQL needs JavaScript.</noscript>",
    `<div id="root">Loading ${escapeHtml(title)}…</div>`,
    `<script type="application/json" id="graphiql-options">${json}</script>`,
    `<script src="${GRAPHIQL_ASSETS_PATH}start.js"></script>`,
    `<script src="${GRAPHIQL_ASSETS_PATH}yoga-graphiql.umd.js"></script>`,
    "</body>",
    "</html>",
  ].join("\n");
}

/** Bytes of one asset, plain and gzipped, read and compressed once on first request. */
type Loaded = { plain: Buffer; gzipped: Buffer };

/**
 * Serves GraphiQL's files from the installed `@graphql-yoga/graphiql` package under
 * {@link GRAPHIQL_ASSETS_PATH} (gzipped when the client accepts it, cached for good by the
 * browser), so that the page {@link renderLocalGraphiQL} renders needs no network beyond the
 * gateway. Add it only when GraphiQL is on.
 */
export function useLocalGraphiQLAssets(): Plugin {
  const loaded = new Map<string, Promise<Loaded>>();
  const load = (name: string, asset: Asset): Promise<Loaded> => {
    let entry = loaded.get(name);
    if (!entry) {
      entry = (async () => {
        const plain =
          "text" in asset.source
            ? Buffer.from(asset.source.text)
            : await readFile(join(DIST_DIR, asset.source.file));
        return { plain, gzipped: await gzipAsync(plain) };
      })();
      // A failed read is not remembered: the next request tries again.
      entry.catch(() => loaded.delete(name));
      loaded.set(name, entry);
    }
    return entry;
  };
  return {
    onRequest({ url, request, fetchAPI, endResponse }) {
      if (!url.pathname.startsWith(GRAPHIQL_ASSETS_PATH)) return;
      const name = url.pathname.slice(GRAPHIQL_ASSETS_PATH.length);
      const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
      if (!asset || (request.method !== "GET" && request.method !== "HEAD")) {
        endResponse(new fetchAPI.Response("not found", { status: 404 }));
        return;
      }
      const isGzipAccepted = /\bgzip\b/.test(request.headers.get("accept-encoding") ?? "");
      return load(name, asset).then(({ plain, gzipped }) => {
        const body = isGzipAccepted ? gzipped : plain;
        endResponse(
          new fetchAPI.Response(request.method === "HEAD" ? null : new Uint8Array(body), {
            status: 200,
            headers: {
              "content-type": asset.contentType,
              "content-length": String(body.byteLength),
              "cache-control": "public, max-age=31536000, immutable",
              vary: "accept-encoding",
              ...(isGzipAccepted ? { "content-encoding": "gzip" } : {}),
            },
          }),
        );
      });
    },
  };
}
