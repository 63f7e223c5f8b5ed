import { useConnectionState } from "../client/connection-context.ts";
import { useSession } from "../client/session-context.ts";

const LINK_TEXT = {
  connecting: "Connecting…",
  online: "Live",
  reconnecting: "Reconnecting…",
} as const;

/** The top bar: name, link state, who is signed in (with auth on) and the way to GraphiQL. */
export function Header() {
  const state = useConnectionState();
  const session = useSession();
  return (
    <header className="topbar">
      <div className="topbar-inner">
        <a className="brand" href="#/" aria-label="Conveyor, home">
          <svg className="brand-mark" viewBox="0 0 32 32" aria-hidden="true">
            <rect width="32" height="32" rx="8" />
            <path d="M7 20h18M7 12h18" />
            <circle cx="11" cy="12" r="2.6" />
            <circle cx="19" cy="20" r="2.6" />
          </svg>
          <span className="brand-name">Conveyor</span>
          <span className="brand-tag">Order pipeline</span>
        </a>
        <nav className="topbar-nav" aria-label="Tools">
          <span className="link-state" data-state={state} role="status">
            <span className="link-dot" aria-hidden="true" />
            {LINK_TEXT[state]}
          </span>
          {session ? (
            <span className="session" data-testid="session">
              <span className="session-who">
                Signed in as <strong>{session.subject}</strong>
              </span>
              <button type="button" className="link-button" onClick={session.signOut}>
                Sign out
              </button>
            </span>
          ) : null}
          <a className="button-secondary" href="/graphql" target="_blank" rel="noreferrer">
            GraphiQL
            <span className="visually-hidden"> (opens in a new tab)</span>
          </a>
        </nav>
      </div>
    </header>
  );
}

/** Says, while the gateway is unreachable, that the dashboard is reconnecting. */
export function ConnectionBanner() {
  const state = useConnectionState();
  if (state !== "reconnecting") return null;
  return (
    <div className="banner" role="alert">
      <span className="spinner" aria-hidden="true" />
      <span>
        <strong>Connection to the gateway lost — reconnecting…</strong> Live views resume from the
        last event they showed, without gaps or repeats.
      </span>
    </div>
  );
}
