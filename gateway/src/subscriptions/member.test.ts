import { describe, expect, it } from "vitest";
import type { OrderEvent } from "../read-model/records.ts";
import { orderEventAt as event } from "../testing/events.ts";
import { type CatchUp, createMember, type MemberOptions, type MemberSink } from "./member.ts";

/** A sink that records what it was given, and can be made to push back. */
function recordingSink() {
  const written: string[] = [];
  let ended: string | undefined;
  let isReady = true;
  let release: () => void = () => {};
  const sink: MemberSink<string> = {
    isReady: () => isReady,
    whenReady: () =>
      new Promise<void>((resolve) => {
        release = resolve;
      }),
    write: (_event, frame) => written.push(frame),
    end: (error) => {
      ended = error ? `error: ${error.message}` : "complete";
    },
  };
  return {
    sink,
    written,
    get ended() {
      return ended;
    },
    pushBack() {
      isReady = false;
    },
    drain() {
      isReady = true;
      release();
    },
  };
}

function member(
  sink: MemberSink<string>,
  options: Partial<MemberOptions<string>> & { history?: OrderEvent[] } = {},
) {
  const { history, ...rest } = options;
  return createMember<string>({
    capacity: 10,
    after: undefined,
    isWholeFeed: true,
    sink,
    render: (e) => `history ${e.cursor}`,
    catchUp: async (): Promise<CatchUp> => ({
      from: [rest.after ?? "0-0"],
      events: (history ?? []).values(),
    }),
    detach: () => {},
    overflowError: (last) => new Error(`slow after ${last}`),
    ...rest,
  });
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe("subscription member", () => {
  it("delivers history, then live events, dropping the overlap at the seam", async () => {
    const out = recordingSink();
    const subscriber = member(out.sink, { history: [event("1-0"), event("2-0"), event("3-0")] });
    // Live events that arrived while the history was read; two of them are also in it.
    subscriber.offer(event("2-0"), "live 2-0");
    subscriber.offer(event("3-0"), "live 3-0");
    subscriber.offer(event("4-0"), "live 4-0");
    await subscriber.start();
    subscriber.offer(event("5-0"), "live 5-0");
    expect(out.written).toEqual([
      "history 1-0",
      "history 2-0",
      "history 3-0",
      "live 4-0",
      "live 5-0",
    ]);
  });

  it("starts after the given cursor", async () => {
    const out = recordingSink();
    const subscriber = member(out.sink, {
      after: "2-0",
      history: [event("1-0"), event("2-0"), event("10-0")],
    });
    await subscriber.start();
    expect(out.written).toEqual(["history 10-0"]);
  });

  it("starts live from the position it is given when there is no history", async () => {
    const out = recordingSink();
    const subscriber = member(out.sink, { catchUp: async () => ({ from: ["5-0"] }) });
    subscriber.offer(event("4-0"), "live 4-0");
    subscriber.offer(event("6-0"), "live 6-0");
    await subscriber.start();
    expect(out.written).toEqual(["live 6-0"]);
  });

  it("writes a live event synchronously once live, with the frame it was given", async () => {
    const out = recordingSink();
    const subscriber = member(out.sink);
    await subscriber.start();
    subscriber.offer(event("1-0"), "shared 1-0");
    expect(out.written).toEqual(["shared 1-0"]);
  });

  it("on overflow detaches at once and ends with one error naming the last delivered cursor", async () => {
    const out = recordingSink();
    let detachCount = 0;
    const subscriber = member(out.sink, {
      capacity: 2,
      detach: () => {
        detachCount += 1;
      },
    });
    await subscriber.start();
    subscriber.offer(event("1-0"), "live 1-0");
    out.pushBack();
    subscriber.offer(event("2-0"), "live 2-0");
    subscriber.offer(event("3-0"), "live 3-0");
    expect(detachCount).toBe(0);
    subscriber.offer(event("4-0"), "live 4-0");
    expect(detachCount).toBe(1);
    expect(out.ended).toBe("error: slow after 1-0");
    out.drain();
    await settled();
    subscriber.offer(event("5-0"), "live 5-0");
    expect(out.written).toEqual(["live 1-0"]);
  });

  it("holds live events while the sink pushes back, then delivers them in order", async () => {
    const out = recordingSink();
    const subscriber = member(out.sink);
    await subscriber.start();
    out.pushBack();
    subscriber.offer(event("1-0"), "live 1-0");
    subscriber.offer(event("2-0"), "live 2-0");
    expect(out.written).toEqual([]);
    out.drain();
    await settled();
    subscriber.offer(event("3-0"), "live 3-0");
    expect(out.written).toEqual(["live 1-0", "live 2-0", "live 3-0"]);
  });

  it("close() stops at once: no more writes, no final frame, detached", async () => {
    const out = recordingSink();
    let isDetached = false;
    const subscriber = member(out.sink, { detach: () => (isDetached = true) });
    await subscriber.start();
    subscriber.close();
    subscriber.offer(event("1-0"), "live 1-0");
    expect(isDetached).toBe(true);
    expect(out.written).toEqual([]);
    expect(out.ended).toBeUndefined();
  });

  it("ends with the error when opening fails", async () => {
    const out = recordingSink();
    const subscriber = member(out.sink, {
      catchUp: () => Promise.reject(new Error("redis is down")),
    });
    await subscriber.start();
    expect(out.ended).toBe("error: redis is down");
  });

  describe("over a feed of two partitions", () => {
    /** Live events as the hub hands them out: each with the hub's position before and after. */
    function hubEvents(start: string[], steps: Array<[partition: number, entryId: string]>) {
      let position: readonly string[] = Object.freeze([...start]);
      return steps.map(([partition, entryId]) => {
        const before = position;
        const next = [...before];
        next[partition] = entryId;
        position = Object.freeze(next);
        const cursor = position.join("_");
        return { ...event(cursor), partition, entryId, before, after: position };
      });
    }

    it("takes the shared frame when at the hub's position, and its own cursor when ahead of it", async () => {
      const out = recordingSink();
      const live = hubEvents(
        ["3-0", "0-0"],
        [
          [0, "4-0"],
          [1, "1-0"],
          [0, "5-0"],
          [0, "6-0"],
          [1, "2-0"],
        ],
      );
      // It resumed from a cursor another gateway gave it, ahead of this hub in partition 0.
      const subscriber = member(out.sink, {
        catchUp: async () => ({ from: ["5-0", "0-0"] }),
        render: (e) => `own ${e.cursor}`,
      });
      await subscriber.start();
      for (const each of live) subscriber.offer(each, `shared ${each.cursor}`);
      expect(out.written).toEqual([
        // 4-0 and 5-0 of partition 0 were delivered before; 1-0 is new, at its own position.
        "own 5-0_1-0",
        // From 6-0 on its position is the hub's: the shared frames are right for it.
        "shared 6-0_1-0",
        "shared 6-0_2-0",
      ]);
      expect(subscriber.lastCursor).toBe("6-0_2-0");
    });

    it("follows one order's events on the shared frames whatever the other partition did", async () => {
      const out = recordingSink();
      const live = hubEvents(
        ["3-0", "0-0"],
        [
          [1, "1-0"],
          [1, "2-0"],
        ],
      );
      const subscriber = member(out.sink, {
        isWholeFeed: false,
        catchUp: async () => ({ from: ["0-0", "0-0"] }),
      });
      await subscriber.start();
      subscriber.offer(live[1] as OrderEvent, "shared 3-0_2-0");
      subscriber.offer(live[0] as OrderEvent, "shared 3-0_1-0");
      expect(out.written).toEqual(["shared 3-0_2-0"]);
    });
  });
});
