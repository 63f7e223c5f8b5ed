import type { AuthIdentity } from "../auth/identity.ts";
import { builder } from "./builder.ts";

const ViewerKindRef = builder.enumType("ViewerKind", {
  description: "What the caller's token makes it.",
  values: ["ANONYMOUS", "CUSTOMER", "OPERATOR"] as const,
});

const AuthModeRef = builder.enumType("AuthMode", {
  description:
    "Whether the gateway checks tokens: OFF (everyone may do everything), OPTIONAL, REQUIRED.",
  values: ["OFF", "OPTIONAL", "REQUIRED"] as const,
});

const ViewerRef = builder
  .objectRef<{ auth: AuthIdentity; authMode: "off" | "optional" | "required" }>("Viewer")
  .implement({
    description: "Who the gateway takes the caller for, from its bearer token.",
    fields: (t) => ({
      kind: t.field({
        type: ViewerKindRef,
        resolve: ({ auth }) =>
          auth.kind === "operator"
            ? "OPERATOR"
            : auth.kind === "customer"
              ? "CUSTOMER"
              : "ANONYMOUS",
      }),
      id: t.string({
        nullable: true,
        description: "The token's subject: a customer's id, or the operator's.",
        resolve: ({ auth, authMode }) =>
          authMode === "off"
            ? null
            : auth.kind === "customer"
              ? auth.customerId
              : auth.kind === "operator"
                ? auth.subject
                : null,
      }),
      expiresAt: t.field({
        type: "DateTime",
        nullable: true,
        description: "When the gateway stops accepting the token (its exp, plus the clock skew).",
        resolve: ({ auth }) =>
          auth.kind !== "anonymous" && auth.expiresAtMs !== undefined
            ? new Date(auth.expiresAtMs).toISOString()
            : null,
      }),
      authMode: t.field({
        type: AuthModeRef,
        resolve: ({ authMode }) =>
          authMode === "off" ? "OFF" : authMode === "optional" ? "OPTIONAL" : "REQUIRED",
      }),
    }),
  });

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerRef,
    description: "Who the caller is signed in as (anyone may ask).",
    resolve: (_root, _args, { auth, services }) => ({ auth, authMode: services.authMode }),
  }),
}));
