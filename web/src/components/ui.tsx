import type { ReactNode } from "react";
import type { OrderStatus } from "../lib/events.ts";

/** A titled card of the dashboard; `actions` sit at the right of the title. */
export function Panel(props: {
  id: string;
  title: string;
  subtitle?: ReactNode;
  actions?: ReactNode;
  className?: string;
  children: ReactNode;
}) {
  const headingId = `${props.id}-title`;
  return (
    <section id={props.id} className={`panel ${props.className ?? ""}`} aria-labelledby={headingId}>
      <header className="panel-header">
        <div>
          <h2 id={headingId}>{props.title}</h2>
          {props.subtitle ? <p className="panel-subtitle">{props.subtitle}</p> : null}
        </div>
        {props.actions ? <div className="panel-actions">{props.actions}</div> : null}
      </header>
      {props.children}
    </section>
  );
}

/** An order's status as a coloured pill. */
export function StatusBadge({ status }: { status: OrderStatus }) {
  return (
    <span className="status-badge" data-status={status}>
      {status}
    </span>
  );
}

/** What a panel shows when it has nothing yet. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty-state">
      <p className="empty-title">{title}</p>
      {children ? <p className="empty-body">{children}</p> : null}
    </div>
  );
}

/** A GraphQL error as the user sees it: the message, and the code in small print. */
export function ErrorNote({ message, code }: { message: string; code?: string | undefined }) {
  return (
    <div className="error-note" role="alert">
      <span>{message}</span>
      {code ? <code className="error-code">{code}</code> : null}
    </div>
  );
}
