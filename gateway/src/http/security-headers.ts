import type { ServerResponse } from "node:http";
import type { Plugin } from "graphql-yoga";

/**
 * The dashboard's Content-Security-Policy: everything from its own origin only (its script and
 * stylesheet are files under `/assets/`, it has no inline script or style element, and it talks
 * to `/graphql` on the same origin), no plugins, and no framing by anyone.
 */
export const DASHBOARD_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * GraphiQL's page (development only, by default): its editor is served by the gateway itself
 * (see graphiql.ts), so everything still comes from its own origin, with no inline script. Its
 * editor (Monaco, React) sets styles at run time, hence inline styles; its fonts are data: URLs.
 */
export const GRAPHIQL_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Options of {@link securityHeadersFor}. */
export interface SecurityHeadersOptions {
  /** The Content-Security-Policy; empty = none. */
  contentSecurityPolicy: string;
  /** `strict-transport-security: max-age=…`; 0 = no header. */
  hstsMaxAgeSeconds: number;
}

/** The headers every response carries, whatever serves it (dashboard, GraphQL, health, metrics). */
export function securityHeadersFor(options: SecurityHeadersOptions): Record<string, string> {
  return {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    ...(options.contentSecurityPolicy
      ? { "content-security-policy": options.contentSecurityPolicy }
      : {}),
    ...(options.hstsMaxAgeSeconds > 0
      ? { "strict-transport-security": `max-age=${options.hstsMaxAgeSeconds}; includeSubDomains` }
      : {}),
  };
}

/** Sets the headers on a Node response before its handler writes it (the handler's own win). */
export function applyHeaders(response: ServerResponse, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
}

/** Gives GraphiQL's page the policy it can live with, when GraphiQL is on. */
export function useGraphiQLContentSecurityPolicy(): Plugin {
  return {
    onResponse({ response }) {
      if (response.headers.get("content-type")?.startsWith("text/html")) {
        response.headers.set("content-security-policy", GRAPHIQL_CONTENT_SECURITY_POLICY);
      }
    },
  };
}
