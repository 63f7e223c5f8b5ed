import type { Logger } from "@conveyor/runtime";
import { trace } from "@opentelemetry/api";
import type { ExecutionResult } from "graphql";
import { createGraphQLError, type Plugin } from "graphql-yoga";
import type { AuthMode } from "../env.ts";
import { ANONYMOUS, AUTH_OFF_IDENTITY, type AuthIdentity, endUserIdOf } from "./identity.ts";
import type { VerifyToken } from "./verify.ts";

/** Options of {@link createAuthentication}. */
export interface AuthPluginOptions {
  mode: AuthMode;
  /** Checks a token; required unless `mode` is `off`. */
  verify?: VerifyToken | undefined;
  logger: Logger;
  /** Puts `enduser.id` on the request's span (`TRACE_ENDUSER_ID`). */
  isTracingEndUser: boolean;
  /**
   * Yoga's endpoint (`/graphql`), whose answers a refusal turns into HTTP 401. Elsewhere
   * (graphql-sse) the error goes without its `extensions.http`, which only Yoga reads.
   */
  graphqlEndpoint: string;
}

/** The context field the gateway's context factory fills with {@link Authentication.identityOf}. */
export interface AuthContext {
  auth: AuthIdentity;
}

/** Authentication of the gateway's requests. */
export interface Authentication {
  /**
   * Who sent this request: for the context factory (`auth`). A refused token is anonymous here;
   * the plugin keeps its operation from running anyway.
   */
  identityOf(request: Request): Promise<AuthIdentity>;
  /** The Yoga plugin that refuses operations without valid credentials (see above). */
  plugin: Plugin<AuthContext>;
}

/** What reading a request's Authorization header gave. */
type Credentials = { identity: AuthIdentity } | { refusal: string };

/** The scheme and token of an `Authorization: Bearer <token>` header (any case, one space+). */
const BEARER = /^bearer +([^\s]+) *$/i;

/**
 * Authentication on every transport (`POST /graphql`, Yoga's SSE, graphql-sse in both modes):
 * the `Authorization: Bearer <token>` header of the request is verified once, when its context
 * is built, and the caller's identity put on the context as `auth` (identity.ts). Nothing else
 * decides: the schema's rules (rules.ts) read `auth`.
 *
 * - `off`: no header is read; `auth` is {@link AUTH_OFF_IDENTITY} (every right).
 * - `optional`: no header is anonymous; a valid token is its identity.
 * - `required`: as optional, but an anonymous operation does not run.
 *
 * An operation whose token is refused (malformed, bad signature, expired, …), or anonymous in
 * `required` mode, does not run: its result is one error, `UNAUTHENTICATED` (HTTP 401 on
 * `POST /graphql`), whose message says what to do and nothing of the token. Why it was refused
 * goes to the log at debug level, without the token.
 */
export function createAuthentication(options: AuthPluginOptions): Authentication {
  const { mode, verify, logger, isTracingEndUser, graphqlEndpoint } = options;
  if (mode !== "off" && !verify) throw new Error(`AUTH_MODE=${mode} needs a token verifier`);
  const credentialsOf = new WeakMap<Request, Promise<Credentials>>();

  async function readCredentials(request: Request): Promise<Credentials> {
    const header = request.headers.get("authorization");
    if (header === null || header === "") return { identity: ANONYMOUS };
    const token = BEARER.exec(header)?.[1];
    if (token === undefined || !verify) {
      logger.debug({ reason: "not a Bearer header" }, "credentials refused");
      return { refusal: "Send the token as `Authorization: Bearer <token>`." };
    }
    const verdict = await verify(token);
    if (verdict.isValid) return { identity: verdict.identity };
    logger.debug({ reason: verdict.reason }, "credentials refused");
    return {
      refusal: verdict.isExpired
        ? "The token has expired; sign in again."
        : "The token is not valid; sign in again.",
    };
  }

  /** Why the operation of this request may not run, if it may not. */
  async function refusalOf(request: Request | undefined): Promise<string | undefined> {
    if (!request) return undefined;
    const credentials = await credentialsFor(request);
    if ("refusal" in credentials) return credentials.refusal;
    if (mode === "required" && credentials.identity.kind === "anonymous") {
      return "Sign in: send a token as `Authorization: Bearer <token>`.";
    }
    return undefined;
  }

  function credentialsFor(request: Request): Promise<Credentials> {
    let credentials = credentialsOf.get(request);
    if (!credentials) {
      credentials = readCredentials(request);
      credentialsOf.set(request, credentials);
    }
    return credentials;
  }

  /** Stops an operation that may not run, or notes who runs it on the request's span. */
  async function gate(
    context: Partial<AuthContext> & { request?: Request | undefined },
    stop: (result: ExecutionResult) => void,
  ): Promise<void> {
    const refusal = await refusalOf(context.request);
    if (refusal !== undefined) {
      const isYoga = context.request && new URL(context.request.url).pathname === graphqlEndpoint;
      return stop(unauthenticated(refusal, isYoga === true));
    }
    const endUserId = isTracingEndUser ? endUserIdOf(context.auth ?? ANONYMOUS) : undefined;
    if (endUserId !== undefined) trace.getActiveSpan()?.setAttribute("enduser.id", endUserId);
  }

  return {
    async identityOf(request) {
      if (mode === "off") return AUTH_OFF_IDENTITY;
      const credentials = await credentialsFor(request);
      return "identity" in credentials ? credentials.identity : ANONYMOUS;
    },
    // With auth off there is nothing to stop or note: no hook at all, nothing changes.
    plugin:
      mode === "off"
        ? {}
        : {
            async onExecute({ args, setResultAndStopExecution }) {
              await gate(args.contextValue, setResultAndStopExecution);
            },
            async onSubscribe({ args, setResultAndStopExecution }) {
              await gate(args.contextValue, setResultAndStopExecution);
            },
          },
  };
}

/** The one-error result of an operation that did not run for want of valid credentials. */
function unauthenticated(message: string, hasHttpStatus: boolean): ExecutionResult {
  const http = { status: 401, headers: { "www-authenticate": 'Bearer realm="conveyor"' } };
  return {
    data: null,
    errors: [
      createGraphQLError(message, {
        extensions: { code: "UNAUTHENTICATED", ...(hasHttpStatus ? { http } : {}) },
      }),
    ],
  };
}
