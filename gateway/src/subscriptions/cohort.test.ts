import { describe, expect, it, vi } from "vitest";
import type { EventHub, FeedListener } from "../feed/event-hub.ts";
import type { OrderEvent } from "../read-model/records.ts";
import { orderEventAt as event } from "../testing/events.ts";
import { createCohort } from "./cohort.ts";
import type { Member } from "./member.ts";

/** A hub whose one listener the test calls by hand. */
function fakeHub() {
  let listener: FeedListener = () => {};
  const hub = {
    position: "0-0",
    subscribe(_orderId: string | undefined, added: FeedListener) {
      listener = added;
      return { position: "0-0", unsubscribe: () => {} };
    },
  } as unknown as EventHub;
  return { hub, emit: (e: OrderEvent) => listener(e) };
}

function recordingMember(seen: string[][]): Member<string> {
  const frames: string[] = [];
  seen.push(frames);
  return {
    offer: (_event, frame) => frames.push(frame),
    start: async () => {},
    close: () => {},
    fail: () => {},
    lastCursor: undefined,
  };
}

/** Counts turns of the event loop until stopped. */
function turnCounter() {
  let turns = 0;
  let isCounting = true;
  const count = () => {
    turns += 1;
    if (isCounting) setImmediate(count);
  };
  setImmediate(count);
  return {
    get turns() {
      return turns;
    },
    stop: () => {
      isCounting = false;
    },
  };
}

describe("cohort", () => {
  it("executes each event once and hands the same frame to every member, in order", async () => {
    const { hub, emit } = fakeHub();
    let renders = 0;
    const cohort = createCohort({
      hub,
      orderId: undefined,
      render: (e) => {
        renders += 1;
        return `frame ${e.cursor}`;
      },
      onEmpty: () => {},
    });
    const seen: string[][] = [];
    for (let i = 0; i < 600; i += 1) cohort.join(recordingMember(seen));
    emit(event("1-0"));
    emit(event("2-0"));
    // A large cohort hands an event out over several turns, serving requests in between.
    expect(seen.filter((frames) => frames.length > 0).length).toBeLessThan(600);
    await vi.waitFor(() => expect(seen.every((frames) => frames.length === 2)).toBe(true));
    expect(renders).toBe(2);
    for (const frames of seen) expect(frames).toEqual(["frame 1-0", "frame 2-0"]);
    expect(cohort.frameOf(event("1-0"))).toBe("frame 1-0");
    expect(renders).toBe(2);
  });

  it("hands the events that arrived during a round to each member together, in one turn", async () => {
    const { hub, emit } = fakeHub();
    const cohort = createCohort({
      hub,
      orderId: undefined,
      render: (e) => `frame ${e.cursor}`,
      onEmpty: () => {},
    });
    const counter = turnCounter();
    const arrivals: Array<Array<{ frame: string; turn: number }>> = [];
    for (let i = 0; i < 1_000; i += 1) {
      const received: Array<{ frame: string; turn: number }> = [];
      arrivals.push(received);
      cohort.join({
        ...recordingMember([]),
        offer: (_e, frame) => received.push({ frame, turn: counter.turns }),
      });
    }
    emit(event("1-0"));
    await Promise.resolve();
    // The first round has begun; these two wait for the next one.
    emit(event("2-0"));
    emit(event("3-0"));
    await vi.waitFor(() => expect(arrivals.every((received) => received.length === 3)).toBe(true));
    counter.stop();
    for (const received of arrivals) {
      expect(received.map(({ frame }) => frame)).toEqual(["frame 1-0", "frame 2-0", "frame 3-0"]);
      expect(received[1]?.turn).toBe(received[2]?.turn);
    }
    // A round takes several turns: the hand-out still yields to requests.
    expect(new Set(arrivals.map((received) => received[0]?.turn)).size).toBeGreaterThan(1);
  });
});
