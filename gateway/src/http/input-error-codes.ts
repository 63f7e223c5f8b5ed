import type { ExecutionResult, GraphQLError } from "graphql";
import { createGraphQLError, isAsyncIterable, type Plugin } from "graphql-yoga";

/**
 * graphql-js reports variables that do not fit the schema (a missing required field, an unknown
 * input field, an Int beyond 32 bits) without an `extensions.code`. They are bad input like any
 * other, so they get `BAD_USER_INPUT`, the same code clients already handle.
 *
 * Errors are made with Yoga's `createGraphQLError`, never `new GraphQLError` from this file:
 * under a bundler that resolves `graphql` to its ESM build, that would be another class, which
 * Yoga's masking does not recognise as a GraphQL error.
 */
function withInputCodes(result: ExecutionResult): ExecutionResult | undefined {
  if (!result.errors?.some(isVariableError)) return undefined;
  return {
    ...result,
    errors: result.errors.map((error) =>
      isVariableError(error)
        ? createGraphQLError(error.message, {
            ...(error.nodes ? { nodes: error.nodes } : {}),
            ...(error.source ? { source: error.source } : {}),
            ...(error.positions ? { positions: error.positions } : {}),
            ...(error.originalError ? { originalError: error.originalError } : {}),
            extensions: { ...error.extensions, code: "BAD_USER_INPUT" },
          })
        : error,
    ),
  };
}

function isVariableError(error: GraphQLError): boolean {
  return (
    !error.extensions?.code &&
    !error.path &&
    // graphql-js stops after 50 variable errors with one more error saying so.
    (error.message.startsWith('Variable "$') ||
      error.message.startsWith("Too many errors processing variables"))
  );
}

/** Tags variable-coercion errors with `BAD_USER_INPUT`, for queries, mutations and subscriptions. */
export function useInputErrorCodes(): Plugin {
  return {
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result)) return;
          const tagged = withInputCodes(result);
          if (tagged) setResult(tagged);
        },
      };
    },
    onSubscribe() {
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) return;
          const tagged = withInputCodes(result);
          if (tagged) setResult(tagged);
        },
      };
    },
  };
}
