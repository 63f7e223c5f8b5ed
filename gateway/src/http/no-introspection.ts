import type { ValidationRule } from "graphql";
import { createGraphQLError, type Plugin } from "graphql-yoga";

/**
 * Refuses the introspection fields `__schema` and `__type` (`__typename` stays allowed), like
 * graphql-js's NoSchemaIntrospectionCustomRule. Its errors are made with Yoga's
 * `createGraphQLError` so that they are recognised as GraphQL errors and never masked.
 */
const noSchemaIntrospection: ValidationRule = (context) => ({
  Field(node) {
    const name = node.name.value;
    if (name === "__schema" || name === "__type") {
      context.reportError(
        createGraphQLError(
          `GraphQL introspection is not allowed here, but the query contained ${name}.`,
          { nodes: [node], extensions: { code: "GRAPHQL_VALIDATION_FAILED" } },
        ),
      );
    }
  },
});

/** Turns schema introspection off (production), over every transport. */
export function useNoIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(noSchemaIntrospection);
    },
  };
}
