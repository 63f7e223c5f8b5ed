import { describe, expect, it } from "vitest";
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

const turn = () => new Promise((resolve) => setImmediate(resolve));

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
    for (let i = 0; i < 10; i += 1) await turn();
    expect(renders).toBe(2);
    for (const frames of seen) expect(frames).toEqual(["frame 1-0", "frame 2-0"]);
    expect(cohort.frameOf(event("1-0"))).toBe("frame 1-0");
    expect(renders).toBe(2);
  });
});
