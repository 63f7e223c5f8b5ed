import { type FormEvent, useId, useState } from "react";
import { normalizeToken } from "../client/session.ts";

/**
 * The sign-in card shown when the gateway checks tokens and the dashboard has none (or its
 * token expired): the operator pastes a token. It goes to sessionStorage and the request
 * headers only; the form posts nowhere, so it never lands in a URL.
 */
export function SignIn(props: { notice?: string | undefined; onSignIn(token: string): void }) {
  const [input, setInput] = useState("");
  const inputId = useId();
  const noticeId = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const token = normalizeToken(input);
    if (token) props.onSignIn(token);
  };
  return (
    <main className="sign-in">
      <section className="panel sign-in-panel" aria-labelledby={`${inputId}-title`}>
        <header className="panel-header">
          <div>
            <h2 id={`${inputId}-title`}>Sign in</h2>
            <p className="panel-subtitle">
              This gateway checks tokens. The dashboard needs an operator's: a JWT whose{" "}
              <code>roles</code> contain <code>operator</code>.
            </p>
          </div>
        </header>
        {props.notice ? (
          <div id={noticeId} className="error-note" role="alert">
            <span>{props.notice}</span>
          </div>
        ) : null}
        <form className="sign-in-form" method="post" onSubmit={submit}>
          <label htmlFor={inputId} className="field-label">
            Operator token
          </label>
          <input
            id={inputId}
            className="text-input mono"
            type="password"
            name="token"
            autoComplete="off"
            spellCheck={false}
            placeholder="eyJhbGciOi…"
            value={input}
            aria-describedby={props.notice ? noticeId : undefined}
            onChange={(event) => setInput(event.target.value)}
          />
          <p className="muted small">
            <code>npm start -- --auth</code> prints one. It is kept for this browser tab's session
            only, and sent as an <code>Authorization</code> header.
          </p>
          <button type="submit" className="button-primary" disabled={!normalizeToken(input)}>
            Sign in
          </button>
        </form>
      </section>
    </main>
  );
}
