import type { Logger } from "@conveyor/runtime";
import type { DocumentNode, ExecutionResult, GraphQLError } from "graphql";
import { getOperationAST } from "graphql";
import { createHandler } from "graphql-sse/lib/use/fetch";
import { createGraphQLError, type Plugin, type YogaServer } from "graphql-yoga";

/** Options of {@link useGraphQLSse}. */
export interface GraphQLSseOptions {
  /** Where the graphql-sse protocol is served, e.g. `/graphql/stream`. */
  endpoint: string;
  logger: Logger;
}

/** What an unexpected failure of the handler answers: no message, no stack. */
const UNEXPECTED = JSON.stringify({
  errors: [{ message: "Unexpected error.", extensions: { code: "INTERNAL_SERVER_ERROR" } }],
});

/**
 * The graphql-sse protocol ("distinct connections" and "single connection" modes) on Yoga, with
 * Yoga's whole plugin chain (parsing, validation and query limits, context, masking) applied to
 * every operation. Like `@graphql-yoga/plugin-graphql-sse`, with two differences that matter
 * for a public endpoint:
 *
 * - a document that does not parse or validate is answered as a GraphQL result with its errors
 *   and their codes (as an event when the client streams), where the stock plugin let the parse
 *   error escape as a 500 whose body was its stack trace, and turned validation errors into
 *   "Unable to detect operation AST";
 * - anything the handler throws is logged and answered with a bare "Unexpected error." 500.
 */
export function useGraphQLSse(options: GraphQLSseOptions): Plugin {
  const serverContexts = new WeakMap<Request, Record<string, unknown>>();
  let handler: ((request: Request) => Promise<Response>) | undefined;
  return {
    onYogaInit({ yoga }) {
      handler = createSseHandler(yoga, serverContexts);
    },
    async onRequest({ request, url, endResponse, serverContext, fetchAPI }) {
      if (url.pathname !== options.endpoint || !handler) return;
      serverContexts.set(request, serverContext as Record<string, unknown>);
      try {
        endResponse(await handler(request));
      } catch (error) {
        options.logger.error({ err: error }, "graphql-sse request failed");
        endResponse(
          new fetchAPI.Response(UNEXPECTED, {
            status: 500,
            headers: { "content-type": "application/json; charset=utf-8" },
          }),
        );
      }
    },
  };
}

function createSseHandler(
  // biome-ignore lint/suspicious/noExplicitAny: Yoga's instance is generic over its contexts.
  yoga: YogaServer<any, any>,
  serverContexts: WeakMap<Request, Record<string, unknown>>,
) {
  return createHandler(
    {
      async onSubscribe(request, params) {
        const enveloped = yoga.getEnveloped({
          ...serverContexts.get(request.raw),
          request: request.raw,
          params,
        });
        let document: DocumentNode;
        try {
          document = enveloped.parse(params.query);
        } catch (error) {
          // Parse errors (syntax, token limit) are GraphQL errors with a code: the client's fault.
          if (isGraphQLError(error)) return refused([error]);
          throw error;
        }
        const errors = enveloped.validate(enveloped.schema, document) as readonly GraphQLError[];
        if (errors.length > 0) return refused(errors);
        const contextValue = await enveloped.contextFactory();
        const operation = getOperationAST(document, params.operationName);
        const run =
          operation?.operation === "subscription" ? enveloped.subscribe : enveloped.execute;
        return run({
          schema: enveloped.schema,
          document,
          contextValue,
          variableValues: params.variables,
          operationName: params.operationName,
        });
      },
    },
    yoga.fetchAPI,
  );
}

/**
 * A result graphql-sse recognises as one (it needs `data`), carrying only errors. Yoga's
 * `extensions.http` (a status for its own HTTP answers) is dropped from copies of them.
 */
function refused(errors: readonly GraphQLError[]): ExecutionResult {
  return {
    data: null,
    errors: errors.map((error) => {
      const { http: _http, ...extensions } = error.extensions ?? {};
      return createGraphQLError(error.message, {
        ...(error.nodes ? { nodes: error.nodes } : {}),
        ...(error.source ? { source: error.source } : {}),
        ...(error.positions ? { positions: error.positions } : {}),
        extensions,
      });
    }),
  };
}

function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === "GraphQLError";
}
