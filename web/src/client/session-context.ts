import { createContext, useContext } from "react";

/** Who is signed in to the dashboard, when the gateway checks tokens. */
export interface SignedIn {
  /** The token's subject, as the gateway read it. */
  subject: string;
  /** When the gateway stops accepting the token, if it said. */
  expiresAt?: string | undefined;
  signOut(): void;
}

/** The signed-in operator; undefined with authentication off (development). */
export const SessionContext = createContext<SignedIn | undefined>(undefined);

/** The signed-in operator, if any. */
export function useSession(): SignedIn | undefined {
  return useContext(SessionContext);
}
