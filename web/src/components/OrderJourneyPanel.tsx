import { useEffect } from "react";
import { useQuery } from "urql";
import { useEventStream } from "../client/use-event-stream.ts";
import {
  eventMeta,
  HAPPY_PATH,
  isFinalStatus,
  type OrderStatus,
  readableReason,
  reasonOf,
  statusAfter,
} from "../lib/events.ts";
import { formatClock, formatDuration, formatMoney, formatSincePrevious } from "../lib/format.ts";
import { useLastKnown } from "../lib/hooks.ts";
import {
  type OrderDetails,
  OrderEventsSubscription,
  type OrderEventView,
  OrderQuery,
} from "../operations.ts";
import { EmptyState, ErrorNote, Panel, StatusBadge } from "./ui.tsx";

const selectOrderEvent = (data: { orderEvents: OrderEventView }) => data.orderEvents;

type StepState = "done" | "current" | "failed" | "todo";

/** Where each step of the happy path stands, given the events so far. */
function stepStates(events: readonly OrderEventView[], status: OrderStatus): StepState[] {
  const seen = new Set(events.map((event) => event.type));
  const failedAt = seen.has("inventory.rejected")
    ? "inventory.reserved"
    : seen.has("payment.failed")
      ? "payment.processed"
      : undefined;
  let isBlocked = false;
  return HAPPY_PATH.map((step): StepState => {
    if (isBlocked) return "todo";
    if (step.type === failedAt) {
      isBlocked = true;
      return "failed";
    }
    if (seen.has(step.type)) return "done";
    isBlocked = true;
    return isFinalStatus(status) ? "todo" : "current";
  });
}

function Progress({ events, status }: { events: readonly OrderEventView[]; status: OrderStatus }) {
  const states = stepStates(events, status);
  return (
    <ol className="progress" aria-label="Progress">
      {HAPPY_PATH.map((step, index) => {
        const state = states[index] ?? "todo";
        return (
          <li key={step.type} className="progress-step" data-state={state}>
            <span className="progress-dot" aria-hidden="true" />
            <span className="progress-label">{step.label}</span>
            <span className="visually-hidden">
              {state === "done"
                ? "(done)"
                : state === "failed"
                  ? "(failed)"
                  : state === "current"
                    ? "(in progress)"
                    : "(not reached)"}
            </span>
          </li>
        );
      })}
    </ol>
  );
}

function Timeline({ events }: { events: readonly OrderEventView[] }) {
  return (
    <ol className="timeline" aria-label="Events">
      {events.map((event, index) => {
        const meta = eventMeta(event.type);
        const since = formatSincePrevious(event.occurredAt, events[index - 1]?.occurredAt);
        const reason = reasonOf(event);
        return (
          <li key={event.cursor} className="timeline-item" data-tone={meta.tone}>
            <span className="timeline-dot" aria-hidden="true" />
            <div className="timeline-body">
              <div className="timeline-line">
                <span className="timeline-label">{meta.label}</span>
                <code className="event-type">{event.type}</code>
              </div>
              <div className="timeline-meta">
                <span className="service-chip" data-service={event.service}>
                  {event.service}
                </span>
                <time dateTime={event.occurredAt}>{formatClock(event.occurredAt)}</time>
                {since ? (
                  <span className="since" title="Time since the previous step">
                    {since}
                  </span>
                ) : null}
              </div>
              {reason ? <p className="timeline-reason">{reason}</p> : null}
            </div>
          </li>
        );
      })}
    </ol>
  );
}

function OrderSummary({ order, status }: { order: OrderDetails; status: OrderStatus }) {
  return (
    <dl className="order-facts">
      <div>
        <dt>Total</dt>
        <dd>{formatMoney(order.total)}</dd>
      </div>
      <div>
        <dt>Customer</dt>
        <dd className="mono">{order.customerId}</dd>
      </div>
      <div>
        <dt>Items</dt>
        <dd>{order.items.map((item) => `${item.quantity}× ${item.sku}`).join(", ")}</dd>
      </div>
      <div>
        <dt>Placed</dt>
        <dd>
          <time dateTime={order.createdAt}>{formatClock(order.createdAt)}</time>
        </dd>
      </div>
      {isFinalStatus(status) ? (
        <div>
          <dt>Took</dt>
          <dd>{formatDuration(Date.parse(order.updatedAt) - Date.parse(order.createdAt))}</dd>
        </div>
      ) : null}
    </dl>
  );
}

/** One order's live journey through the pipeline: status, steps, events and its trace. */
export function OrderJourneyPanel({ orderId }: { orderId: string | undefined }) {
  const [orderResult, refetchOrder] = useQuery({
    query: OrderQuery,
    variables: { id: orderId ?? "" },
    pause: orderId === undefined,
    requestPolicy: "cache-and-network",
  });
  const stream = useEventStream(
    OrderEventsSubscription,
    { orderId: orderId ?? "" },
    selectOrderEvent,
    { key: orderId ?? "", isEnabled: orderId !== undefined },
  );
  const orderData = useLastKnown(orderResult.data, orderId);
  const order = orderData?.order;
  const events = stream.events;
  const status = statusAfter(events, order?.status ?? "PENDING");
  const lastType = events.at(-1)?.type;

  // The read model settles a moment after each event: fetch the order again for its final
  // status, failure reason and timings.
  useEffect(() => {
    if (!lastType) return;
    const timer = setTimeout(() => refetchOrder({ requestPolicy: "network-only" }), 250);
    return () => clearTimeout(timer);
  }, [lastType, refetchOrder]);

  if (orderId === undefined) {
    return (
      <Panel id="journey" title="Order journey">
        <EmptyState title="No order selected">
          Place an order, or pick one from the list, to watch it move through inventory, payment and
          shipment as it happens.
        </EmptyState>
      </Panel>
    );
  }

  // An id nobody placed (a stale link, another deployment): say so, and nothing else.
  if (orderData && !order && events.length === 0) {
    return (
      <Panel id="journey" title="Order journey">
        <ErrorNote message={`There is no order ${orderId}.`} code="NOT_FOUND" />
        <p className="muted small">Pick an order from the list, or place a new one.</p>
      </Panel>
    );
  }

  const reason =
    status === "REJECTED" || status === "CANCELLED"
      ? order?.failureReason
        ? readableReason(order.failureReason)
        : events.map(reasonOf).find((text) => text !== undefined)
      : undefined;

  return (
    <Panel
      id="journey"
      title="Order journey"
      subtitle={
        <span className="mono" title={orderId}>
          {orderId}
        </span>
      }
      actions={
        <>
          <StatusBadge status={status} />
          {order?.traceUrl ? (
            <a className="button-secondary" href={order.traceUrl} target="_blank" rel="noreferrer">
              View trace
              <span className="visually-hidden"> (opens in a new tab)</span>
            </a>
          ) : null}
        </>
      }
    >
      <div className="journey" aria-live="polite" aria-busy={!isFinalStatus(status)}>
        {orderResult.error && !order ? (
          <ErrorNote
            message={orderResult.error.graphQLErrors[0]?.message ?? "Could not load the order"}
          />
        ) : null}
        <Progress events={events} status={status} />
        {reason ? (
          <div className="reason-callout" data-status={status}>
            <strong>{status === "REJECTED" ? "Rejected" : "Cancelled"}</strong>
            <span className="reason-text">{reason}</span>
          </div>
        ) : null}
        {order ? <OrderSummary order={order} status={status} /> : null}
        {stream.error ? <ErrorNote message={stream.error} /> : null}
        {events.length === 0 && !stream.error ? (
          <p className="muted">Waiting for the first event…</p>
        ) : (
          <Timeline events={events} />
        )}
        {order && !order.traceUrl ? (
          <p className="muted small">
            {order.traceId ? (
              <>
                Trace <code>{order.traceId}</code> (trace links are off on this gateway)
              </>
            ) : (
              "No trace recorded for this order (telemetry is off)."
            )}
          </p>
        ) : null}
      </div>
    </Panel>
  );
}
