import { blockFieldSuggestionsPlugin } from "@escape.tech/graphql-armor-block-field-suggestions";
import { costLimitPlugin } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesPlugin } from "@escape.tech/graphql-armor-max-directives";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import type { GraphQLError, ValidationContext } from "graphql";
import { createGraphQLError, type Plugin } from "graphql-yoga";

/** Which limit an operation broke, in `extensions.limit` of a `QUERY_TOO_COMPLEX` error. */
export type QueryLimit = "depth" | "aliases" | "cost" | "tokens" | "directives";

/** The limits of {@link useQueryLimits}; 0 turns one off. */
export interface QueryLimits {
  /** Deepest selection (fragment spreads do not add a level). */
  maxDepth: number;
  /** Most aliases in one operation (`__typename` aliases are free). */
  maxAliases: number;
  /** Highest static cost (GraphQL Armor: 1 per scalar, 2 per object, ×1.5 per level, × `first`). */
  maxCost: number;
  /** Most lexical tokens in one document: bounds parsing work before anything else runs. */
  maxTokens: number;
  /** Most directives in one operation. */
  maxDirectives: number;
  /** Hide "Did you mean …?" suggestions, which leak the schema when introspection is off. */
  isBlockingFieldSuggestions: boolean;
}

/**
 * The error a client gets for an operation over a limit: a clear message and the code
 * `QUERY_TOO_COMPLEX`. GraphQL Armor's own errors say "Syntax Error" and carry no code; they are
 * replaced here. Made with Yoga's `createGraphQLError`, so Yoga never masks them.
 */
function tooComplex(limit: QueryLimit, armorError: GraphQLError): GraphQLError {
  const message = armorError.message.replace(/^Syntax Error: /, "");
  return createGraphQLError(`${message} Simplify the operation.`, {
    extensions: { code: "QUERY_TOO_COMPLEX", limit, http: { status: 400 } },
  });
}

/** Armor's callbacks for a validation rule: report our error instead of throwing Armor's. */
function reportAs(limit: QueryLimit) {
  return {
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) => {
        context?.reportError(tooComplex(limit, error));
      },
    ],
  };
}

/**
 * Bounds what one GraphQL operation may ask for, before it runs: depth, aliases, cost, tokens and
 * directives (GraphQL Armor), over every transport (HTTP, Yoga's SSE, graphql-sse). Each limit of
 * 0 is left out; field suggestions are hidden when asked.
 */
export function useQueryLimits(limits: QueryLimits): Plugin[] {
  const plugins: Plugin[] = [];
  if (limits.maxTokens > 0) {
    plugins.push(
      maxTokensPlugin({
        n: limits.maxTokens,
        propagateOnRejection: false,
        onReject: [
          (_context, error) => {
            // Parsing has no validation context to report to: stop the parse with our error.
            throw tooComplex("tokens", error);
          },
        ],
      }) as Plugin,
    );
  }
  if (limits.maxDepth > 0) {
    plugins.push(
      maxDepthPlugin({ n: limits.maxDepth, flattenFragments: true, ...reportAs("depth") }),
    );
  }
  if (limits.maxAliases > 0) {
    plugins.push(maxAliasesPlugin({ n: limits.maxAliases, ...reportAs("aliases") }));
  }
  if (limits.maxCost > 0) {
    plugins.push(costLimitPlugin({ maxCost: limits.maxCost, ...reportAs("cost") }));
  }
  if (limits.maxDirectives > 0) {
    plugins.push(maxDirectivesPlugin({ n: limits.maxDirectives, ...reportAs("directives") }));
  }
  if (limits.isBlockingFieldSuggestions) {
    plugins.push(blockFieldSuggestionsPlugin({ mask: "" }));
  }
  return plugins;
}
