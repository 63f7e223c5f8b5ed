import type { CombinedError } from "@urql/core";

/** An error as the dashboard shows it. */
export interface ErrorView {
  message: string;
  code?: string | undefined;
}

/** The gateway's error messages (with their codes), or a plain word about the network. */
export function describeError(error: CombinedError): ErrorView[] {
  if (error.graphQLErrors.length > 0) {
    return error.graphQLErrors.map((graphQLError) => {
      const code = graphQLError.extensions?.code;
      return { message: graphQLError.message, code: typeof code === "string" ? code : undefined };
    });
  }
  if (error.networkError) {
    return [{ message: "Could not reach the gateway. Check that it is running, then try again." }];
  }
  return [{ message: error.message }];
}
