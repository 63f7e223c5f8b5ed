import { useId, useState } from "react";
import { useQuery } from "urql";
import { useFeed } from "../client/feed.tsx";
import { describeError } from "../lib/errors.ts";
import { ORDER_STATUSES, type OrderStatus } from "../lib/events.ts";
import { formatAgo, formatMoney, shortId } from "../lib/format.ts";
import { useDebouncedOnChange, useLastKnown, useNow } from "../lib/hooks.ts";
import { OrdersQuery } from "../operations.ts";
import { EmptyState, ErrorNote, Panel, StatusBadge } from "./ui.tsx";

const PAGE_SIZE = 8;

/** Orders, newest first, refreshed as events arrive; filterable by status and paginated. */
export function OrdersPanel(props: {
  selectedOrderId: string | undefined;
  onSelect(orderId: string): void;
}) {
  const [status, setStatus] = useState<OrderStatus | "">("");
  // The cursors of the pages before the current one: "Newer" pops, "Older" pushes.
  const [pageCursors, setPageCursors] = useState<Array<string | undefined>>([]);
  const [after, setAfter] = useState<string | undefined>(undefined);
  const [result, refetch] = useQuery({
    query: OrdersQuery,
    variables: { first: PAGE_SIZE, after: after ?? null, status: status || null },
    requestPolicy: "cache-and-network",
  });
  const feed = useFeed();
  const now = useNow(5000);
  const filterId = useId();

  useDebouncedOnChange(
    feed.events.at(-1)?.cursor,
    () => refetch({ requestPolicy: "network-only" }),
    300,
  );

  const page = useLastKnown(result.data, `${status}|${after ?? ""}`)?.orders;
  const orders = page?.nodes ?? [];
  const pageIndex = pageCursors.length;
  const firstRow = pageIndex * PAGE_SIZE + 1;

  function changeStatus(next: OrderStatus | "") {
    setStatus(next);
    setAfter(undefined);
    setPageCursors([]);
  }

  return (
    <Panel
      id="orders"
      title="Orders"
      subtitle={
        page ? `${page.totalCount.toLocaleString("en-US")} in total · newest first` : "Newest first"
      }
      actions={
        <div className="inline-field">
          <label htmlFor={filterId}>Status</label>
          <select
            id={filterId}
            className="select"
            value={status}
            onChange={(event) => changeStatus(event.target.value as OrderStatus | "")}
          >
            <option value="">All</option>
            {ORDER_STATUSES.map((value) => (
              <option key={value} value={value}>
                {value.charAt(0) + value.slice(1).toLowerCase()}
              </option>
            ))}
          </select>
        </div>
      }
    >
      {result.error && orders.length === 0 ? (
        <ErrorNote {...(describeError(result.error)[0] ?? { message: "Orders unavailable" })} />
      ) : null}
      {page && orders.length === 0 ? (
        <EmptyState title={status ? `No ${status.toLowerCase()} orders` : "No orders yet"}>
          {status ? "Try another status." : "Orders appear here the moment they are placed."}
        </EmptyState>
      ) : null}
      {orders.length > 0 ? (
        <div className="table-scroll">
          <table className="table orders-table">
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col" className="hide-narrow">
                  Customer
                </th>
                <th scope="col" className="numeric hide-narrow">
                  Items
                </th>
                <th scope="col" className="numeric">
                  Total
                </th>
                <th scope="col">Status</th>
                <th scope="col" className="numeric">
                  Placed
                </th>
              </tr>
            </thead>
            <tbody>
              {orders.map((order) => (
                <tr
                  key={order.id}
                  aria-selected={order.id === props.selectedOrderId}
                  data-status={order.status}
                >
                  <td>
                    <button
                      type="button"
                      className="row-link mono"
                      title={`Show the journey of order ${order.id}`}
                      onClick={() => props.onSelect(order.id)}
                    >
                      {shortId(order.id)}
                    </button>
                  </td>
                  <td className="hide-narrow mono truncate">{order.customerId}</td>
                  <td className="numeric hide-narrow">
                    {order.items.reduce((sum, item) => sum + item.quantity, 0)}
                  </td>
                  <td className="numeric">{formatMoney(order.total)}</td>
                  <td>
                    <StatusBadge status={order.status} />
                  </td>
                  <td className="numeric muted">
                    <time dateTime={order.createdAt} title={order.createdAt}>
                      {formatAgo(order.createdAt, now)}
                    </time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {page && (pageIndex > 0 || page.pageInfo.hasNextPage) ? (
        <nav className="pager" aria-label="Orders pages">
          <span className="muted">
            {firstRow}–{firstRow + orders.length - 1} of {page.totalCount}
          </span>
          <div className="pager-buttons">
            <button
              type="button"
              className="button-secondary"
              disabled={pageIndex === 0}
              onClick={() => {
                setAfter(pageCursors.at(-1));
                setPageCursors((cursors) => cursors.slice(0, -1));
              }}
            >
              Newer
            </button>
            <button
              type="button"
              className="button-secondary"
              disabled={!page.pageInfo.hasNextPage}
              onClick={() => {
                setPageCursors((cursors) => [...cursors, after]);
                setAfter(page.pageInfo.endCursor ?? undefined);
              }}
            >
              Older
            </button>
          </div>
        </nav>
      ) : null}
    </Panel>
  );
}
