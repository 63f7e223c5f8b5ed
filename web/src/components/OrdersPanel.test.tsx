import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { Client, fetchExchange, Provider } from "urql";
import { describe, expect, it } from "vitest";
import { OrdersPanel } from "./OrdersPanel.tsx";

const order = (index: number) => ({
  id: `01ORDER${String(index).padStart(19, "0")}`,
  status: index % 2 ? "SHIPPED" : "CANCELLED",
  customerId: `cus_${index}`,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:01.000Z",
  failureReason: null,
  total: { amountCents: 1000 * index, currency: "USD" },
  items: [{ quantity: 1 }],
});

/** A gateway double answering `orders` in pages of 8 out of 10, and recording the variables. */
function fakeGateway() {
  const requests: Array<Record<string, unknown>> = [];
  const all = Array.from({ length: 10 }, (_, index) => order(10 - index));
  const fetch = async (_url: unknown, init?: { body?: unknown }) => {
    const { variables } = JSON.parse(String(init?.body));
    requests.push(variables);
    const matching = all.filter((row) => !variables.status || row.status === variables.status);
    const start = variables.after ? matching.findIndex((row) => row.id === variables.after) + 1 : 0;
    const nodes = matching.slice(start, start + variables.first);
    const data = {
      orders: {
        __typename: "OrderConnection",
        totalCount: matching.length,
        pageInfo: {
          __typename: "PageInfo",
          endCursor: nodes.at(-1)?.id ?? null,
          hasNextPage: start + nodes.length < matching.length,
        },
        nodes: nodes.map((row) => ({
          __typename: "Order",
          ...row,
          total: { __typename: "Money", ...row.total },
          items: row.items.map((item) => ({ __typename: "OrderItem", ...item })),
        })),
      },
    };
    return new Response(JSON.stringify({ data }), {
      headers: { "content-type": "application/json" },
    });
  };
  const client = new Client({
    url: "http://gateway.test/graphql",
    exchanges: [fetchExchange],
    fetch,
    preferGetMethod: false,
  });
  return { client, requests };
}

function renderPanel() {
  const gateway = fakeGateway();
  render(
    <Provider value={gateway.client}>
      <OrdersPanel selectedOrderId={undefined} onSelect={() => {}} />
    </Provider>,
  );
  return gateway;
}

const rows = () => screen.getAllByRole("row").slice(1);

describe("the orders list", () => {
  it("pages through the orders, newest first, with the cursor of the page before", async () => {
    const { requests } = renderPanel();
    await waitFor(() => expect(rows()).toHaveLength(8));
    expect(screen.getByText("1–8 of 10")).toBeDefined();
    expect(requests.at(-1)).toMatchObject({ first: 8, after: null, status: null });

    fireEvent.click(screen.getByRole("button", { name: "Older" }));
    await waitFor(() => expect(rows()).toHaveLength(2));
    expect(screen.getByText("9–10 of 10")).toBeDefined();
    expect(requests.at(-1)?.after).toBe(order(3).id);
    expect(screen.getByRole("button", { name: "Older" }).hasAttribute("disabled")).toBe(true);

    fireEvent.click(screen.getByRole("button", { name: "Newer" }));
    await waitFor(() => expect(rows()).toHaveLength(8));
    expect(requests.at(-1)?.after).toBeNull();
  });

  it("filters by status from the first page", async () => {
    const { requests } = renderPanel();
    await waitFor(() => expect(rows()).toHaveLength(8));
    fireEvent.click(screen.getByRole("button", { name: "Older" }));
    await waitFor(() => expect(rows()).toHaveLength(2));

    fireEvent.change(screen.getByLabelText("Status"), { target: { value: "SHIPPED" } });
    await waitFor(() => expect(rows()).toHaveLength(5));
    expect(requests.at(-1)).toMatchObject({ after: null, status: "SHIPPED" });
    expect(screen.getAllByText("SHIPPED")).toHaveLength(5);
    expect(screen.queryByRole("navigation", { name: "Orders pages" })).toBeNull();
  });
});
