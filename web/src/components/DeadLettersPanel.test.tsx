import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { Client, fetchExchange, Provider } from "urql";
import { describe, expect, it } from "vitest";
import { DeadLettersPanel } from "./DeadLettersPanel.tsx";

const letter = (index: number) => ({
  __typename: "DeadLetter",
  id: `17000000000${index}-0`,
  stream: "order.created",
  service: "inventory",
  reason: `not processed after 5 deliveries (${index})`,
  lastError: "WRONGTYPE Operation against a key holding the wrong kind of value",
  deliveryCount: 6,
  deadLetteredAt: "2026-01-01T00:00:00.000Z",
  orderId: `01ORDER${String(index).padStart(19, "0")}`,
  fields: { type: "order.created", orderId: `01ORDER${index}` },
});

/** A gateway double holding two dead letters; a redelivery removes one, a second finds none. */
function fakeGateway() {
  const letters = [letter(2), letter(1)];
  const redeliveries: string[] = [];
  const fetch = async (_url: unknown, init?: { body?: unknown }) => {
    const { query, variables } = JSON.parse(String(init?.body));
    let body: unknown;
    if (String(query).includes("redeliverDeadLetter")) {
      redeliveries.push(variables.id);
      const index = letters.findIndex((row) => row.id === variables.id);
      if (index < 0) {
        body = {
          data: null,
          errors: [
            { message: `No dead letter ${variables.id}`, extensions: { code: "NOT_FOUND" } },
          ],
        };
      } else {
        const [removed] = letters.splice(index, 1);
        body = {
          data: {
            redeliverDeadLetter: {
              __typename: "RedeliverDeadLetterPayload",
              entryId: "1800000000000-0",
              deadLetter: { __typename: "DeadLetter", id: removed?.id },
            },
          },
        };
      }
    } else {
      body = {
        data: {
          deadLetters: {
            __typename: "DeadLetterConnection",
            totalCount: letters.length,
            pageInfo: { __typename: "PageInfo", hasNextPage: false, endCursor: null },
            nodes: letters,
          },
        },
      };
    }
    return new Response(JSON.stringify(body), {
      headers: { "content-type": "application/json" },
    });
  };
  const client = new Client({
    url: "http://gateway.test/graphql",
    exchanges: [fetchExchange],
    fetch,
    preferGetMethod: false,
  });
  return { client, redeliveries };
}

const rows = () => screen.getAllByRole("row").slice(1);

describe("the dead letters panel", () => {
  it("lists dead letters with stream, reason and deliveries, and redelivers one", async () => {
    const gateway = fakeGateway();
    render(
      <Provider value={gateway.client}>
        <DeadLettersPanel />
      </Provider>,
    );
    await waitFor(() => expect(rows()).toHaveLength(2));
    expect(screen.getByText("2 waiting · newest first")).toBeDefined();
    expect(screen.getByText("not processed after 5 deliveries (2)")).toBeDefined();
    expect(screen.getAllByText("order.created")).toHaveLength(2);

    fireEvent.click(screen.getByRole("button", { name: `Redeliver dead letter ${letter(2).id}` }));
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(gateway.redeliveries).toEqual([letter(2).id]);
    expect(screen.getByRole("status").textContent).toMatch(/back in its stream/);
    expect(screen.getByText("1 waiting · newest first")).toBeDefined();

    fireEvent.click(screen.getByRole("button", { name: `Redeliver dead letter ${letter(1).id}` }));
    await waitFor(() => expect(screen.getByText("No dead letters")).toBeDefined());
  });

  it("shows the gateway's error when the dead letter was already redelivered", async () => {
    const gateway = fakeGateway();
    render(
      <Provider value={gateway.client}>
        <DeadLettersPanel />
      </Provider>,
    );
    await waitFor(() => expect(rows()).toHaveLength(2));
    // Someone else redelivered it meanwhile.
    await gateway.client
      .mutation("mutation($id: ID!) { redeliverDeadLetter(id: $id) { entryId } }", {
        id: letter(1).id,
      })
      .toPromise();
    fireEvent.click(screen.getByRole("button", { name: `Redeliver dead letter ${letter(1).id}` }));
    await waitFor(() => expect(screen.getByText(/No dead letter/)).toBeDefined());
    expect(screen.getByText("NOT_FOUND")).toBeDefined();
  });
});
