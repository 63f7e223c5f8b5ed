import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Provider } from "urql";
import { App } from "./App.tsx";
import { createGatewayClient, type GatewayClient } from "./client/client.ts";
import { ConnectionContext } from "./client/connection-context.ts";
import { clearToken, isUnauthenticated, readToken, saveToken } from "./client/session.ts";
import { SessionContext, type SignedIn } from "./client/session-context.ts";
import { Header } from "./components/Header.tsx";
import { SignIn } from "./components/SignIn.tsx";
import { ViewerQuery } from "./operations.ts";

/** What the dashboard knows about its caller. */
type Gate =
  | { state: "checking" }
  /** Authentication off, or the gateway out of reach for now: the dashboard as it always was. */
  | { state: "open" }
  | { state: "signed-in"; subject: string; expiresAt?: string | undefined }
  | { state: "signed-out"; notice?: string | undefined };

/** The longest a timer can wait in a browser (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The dashboard behind its sign-in. It asks the gateway who it is (`viewer`): with
 * authentication off it shows the dashboard at once; with it on, it asks for an operator token
 * until it has one, shows who is signed in, and asks again when the token expires or any
 * request or stream is answered UNAUTHENTICATED. Each token gets a client of its own, so
 * nothing of a previous session (cache, streams) carries over.
 */
export function Root() {
  const [token, setToken] = useState<string | undefined>(() => readToken());
  const [gate, setGate] = useState<Gate>({ state: "checking" });

  const signOut = useCallback((notice?: string) => {
    clearToken();
    setToken(undefined);
    setGate({ state: "signed-out", notice });
  }, []);
  const onUnauthenticated = useCallback(
    () => signOut("Your session has expired or the token was refused. Sign in again."),
    [signOut],
  );
  const gateway = useMemo(
    () => createGatewayClient({ token, onUnauthenticated }),
    [token, onUnauthenticated],
  );
  // The previous session's streams close when a new client replaces it. Not in an effect's
  // cleanup: StrictMode runs that on its trial unmount, which would close the live client.
  const previous = useRef<GatewayClient | undefined>(undefined);
  useEffect(() => {
    if (previous.current && previous.current !== gateway) previous.current.dispose();
    previous.current = gateway;
  }, [gateway]);

  useEffect(() => {
    let isCurrent = true;
    void gateway.client
      .query(ViewerQuery, {}, { requestPolicy: "network-only" })
      .toPromise()
      .then((result) => {
        if (!isCurrent) return;
        const viewer = result.data?.viewer;
        if (viewer?.authMode === "OFF") return setGate({ state: "open" });
        if (viewer?.kind === "OPERATOR" && viewer.id) {
          return setGate({
            state: "signed-in",
            subject: viewer.id,
            expiresAt: viewer.expiresAt ?? undefined,
          });
        }
        if (viewer?.kind === "CUSTOMER") {
          clearToken();
          return setGate({
            state: "signed-out",
            notice: `That token is a customer's (${viewer.id ?? "?"}); the dashboard needs an operator's.`,
          });
        }
        if (viewer || isUnauthenticated(result.error?.graphQLErrors)) {
          clearToken();
          return setGate((current) => ({
            state: "signed-out",
            notice: token
              ? "The gateway did not accept that token. Sign in again."
              : current.state === "signed-out"
                ? current.notice
                : undefined,
          }));
        }
        // Unreachable for now: show the dashboard, which says it is reconnecting.
        setGate({ state: "open" });
      });
    return () => {
      isCurrent = false;
    };
  }, [gateway, token]);

  // Ask again when the token expires, even on a page where nothing happens meanwhile.
  const expiresAt = gate.state === "signed-in" ? gate.expiresAt : undefined;
  useEffect(() => {
    if (!expiresAt) return;
    const remainingMs = Date.parse(expiresAt) - Date.now();
    const timer = setTimeout(
      () => signOut("Your session has expired. Sign in again."),
      Math.max(0, Math.min(remainingMs, MAX_TIMER_MS)),
    );
    return () => clearTimeout(timer);
  }, [expiresAt, signOut]);

  const session: SignedIn | undefined = useMemo(
    () =>
      gate.state === "signed-in"
        ? { subject: gate.subject, expiresAt: gate.expiresAt, signOut: () => signOut() }
        : undefined,
    [gate, signOut],
  );

  if (gate.state === "checking") return null;
  if (gate.state === "signed-out") {
    return (
      <ConnectionContext.Provider value={gateway.monitor}>
        <Header />
        <SignIn
          notice={gate.notice}
          onSignIn={(next) => {
            saveToken(next);
            setGate({ state: "checking" });
            setToken(next);
          }}
        />
      </ConnectionContext.Provider>
    );
  }
  return (
    <Provider value={gateway.client}>
      <ConnectionContext.Provider value={gateway.monitor}>
        <SessionContext.Provider value={session}>
          <App />
        </SessionContext.Provider>
      </ConnectionContext.Provider>
    </Provider>
  );
}
