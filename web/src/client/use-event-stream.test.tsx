import { act, render, screen } from "@testing-library/react";
import { StrictMode } from "react";
import { Client, type ExecutionResult, Provider, subscriptionExchange } from "urql";
import { describe, expect, it } from "vitest";
import { EventsSubscription, type OrderEventView } from "../operations.ts";
import { useEventStream } from "./use-event-stream.ts";

/** A client whose subscriptions the test drives, and which counts the open ones. */
function fakeClient() {
  const open = new Set<{ next(result: ExecutionResult): void; variables: unknown }>();
  let opened = 0;
  const client = new Client({
    url: "http://gateway.test/graphql",
    exchanges: [
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe(sink) {
            const stream = {
              next: (result: ExecutionResult) => sink.next(result),
              variables: request.variables,
            };
            open.add(stream);
            opened++;
            return { unsubscribe: () => open.delete(stream) };
          },
        }),
      }),
    ],
  });
  const emit = (cursor: string, type = "order.created") =>
    act(() => {
      for (const stream of open) {
        stream.next({
          data: {
            events: {
              id: `e${cursor}`,
              cursor,
              type,
              orderId: "o1",
              service: "gateway",
              occurredAt: "2026-01-01T00:00:00.000Z",
              data: {},
              traceId: null,
            },
          },
        });
      }
    });
  return { client, open, emit, opened: () => opened };
}

const select = (data: { events: OrderEventView }) => data.events;

/** urql starts a subscription a microtask after it is asked for. */
const settle = () => act(async () => {});

function Feed({ isEnabled = true }: { isEnabled?: boolean }) {
  const { events } = useEventStream(EventsSubscription, {}, select, { key: "all", isEnabled });
  return (
    <ul>
      {events.map((event) => (
        <li key={event.cursor}>{event.cursor}</li>
      ))}
    </ul>
  );
}

const cursorsShown = () => screen.queryAllByRole("listitem").map((item) => item.textContent);

describe("useEventStream", () => {
  it("keeps one open subscription under StrictMode's double mount, and shows each cursor once", async () => {
    const { client, open, emit, opened } = fakeClient();
    const view = render(
      <StrictMode>
        <Provider value={client}>
          <Feed />
        </Provider>
      </StrictMode>,
    );
    await settle();
    expect(open.size).toBe(1);
    // The first mount's subscription was torn down before it reached the network.
    expect(opened()).toBe(1);
    emit("1-0");
    emit("1-0");
    emit("2-0");
    expect(cursorsShown()).toEqual(["1-0", "2-0"]);
    view.unmount();
    await settle();
    expect(open.size).toBe(0);
  });

  it("subscribes again after the last cursor it saw, keeping what it showed", async () => {
    const { client, open, emit } = fakeClient();
    const app = (isEnabled: boolean) => (
      <StrictMode>
        <Provider value={client}>
          <Feed isEnabled={isEnabled} />
        </Provider>
      </StrictMode>
    );
    const view = render(app(true));
    await settle();
    expect([...open].map((stream) => stream.variables)).toEqual([{}]);
    emit("5-0");
    view.rerender(app(false));
    await settle();
    expect(open.size).toBe(0);
    view.rerender(app(true));
    await settle();
    expect([...open].map((stream) => stream.variables)).toEqual([{ after: "5-0" }]);
    emit("5-0");
    emit("6-0");
    expect(cursorsShown()).toEqual(["5-0", "6-0"]);
  });
});
