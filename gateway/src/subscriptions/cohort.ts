import type { FeedPosition } from "../feed/cursor.ts";
import type { EventHub, HubSubscription } from "../feed/event-hub.ts";
import type { OrderEvent } from "../read-model/records.ts";
import type { Member } from "./member.ts";

/** Frames kept per cohort for the members still catching up (newest last). */
const RECENT_FRAMES = 256;

/**
 * Members served in one turn of the event loop. A cohort of thousands hands its events out over
 * several turns, so requests (placeOrder) are served in between instead of waiting for the whole
 * fan-out; each member still gets its events in order. At 1,000 members, 256 per turn put
 * placeOrder's p99 at about 3× the one-subscriber run, 64 at 1.75–4× (docs/benchmarks.md).
 */
const MEMBERS_PER_TURN = 64;

/**
 * The least time between the starts of two rounds. Each round costs one socket write per member
 * whatever it holds, so a large cohort waits this long to gather the events of several feed
 * reads: at 1,000 members and 80 events/s, 4.4 µs of gateway CPU per frame instead of 9.5, for
 * at most 50 ms more of delivery lag. An event after a quiet spell goes out at once.
 */
const ROUND_INTERVAL_MS = 50;

/** A live event and its frame, rendered once for the whole cohort. */
interface Delivery<TFrame> {
  event: OrderEvent;
  frame: TFrame;
}

/** Options of {@link createCohort}. */
export interface CohortOptions<TFrame> {
  hub: EventHub;
  /** The live events it follows: one order's, or every event (undefined). */
  orderId: string | undefined;
  /** Executes the cohort's operation for one event and serialises the result: once per event. */
  render(event: OrderEvent): TFrame;
  /** Called when the last member left (the cohort has let go of the hub). */
  onEmpty(): void;
}

/** Subscribers that share one operation, one live source and one execution per event. */
export interface Cohort<TFrame> {
  /**
   * Adds a member; it receives every live event from now on. Resolves nothing: the member reads
   * its own history up to {@link Cohort.position} afterwards.
   */
  join(member: Member<TFrame>): void;
  leave(member: Member<TFrame>): void;
  /** The frame of an event: rendered once, then reused by every member that needs it. */
  frameOf(event: OrderEvent): TFrame;
  /** The hub's position: every later event reaches the members. */
  readonly position: FeedPosition;
  readonly size: number;
  /** Executions so far (one per distinct event, however many members). */
  readonly executions: number;
}

/**
 * A cohort in the sense of Hasura's multiplexed live queries: the subscribers whose document,
 * variables and authorization scope are equal. It holds one listener on the event hub; each live
 * event is executed and serialised once, and the same bytes are handed to every member. A member
 * that is catching up asks for the frames of its history here too, so an event another member
 * saw live is not executed again.
 *
 * A cohort too large for one turn hands its events out in rounds, member by member: the events
 * that arrived during a round all go to each member in the next one, in one turn, so they share
 * one socket write per connection (see `batchEventStreamWrites`). The write, not the frame, is
 * what costs the gateway most (the kernel's TCP send), so when the fan-out falls behind, its
 * batches grow and each frame costs less, the way a database's group commit works. Rounds begin
 * at most every {@link ROUND_INTERVAL_MS}, so a round gathers several feed reads even when the
 * fan-out keeps up.
 */
export function createCohort<TFrame>(options: CohortOptions<TFrame>): Cohort<TFrame> {
  const { hub } = options;
  const members = new Set<Member<TFrame>>();
  const recent = new Map<string, TFrame>();
  let subscription: HubSubscription | undefined;
  let executions = 0;

  function frameOf(event: OrderEvent): TFrame {
    // The cursor names the event's entry in its partition, and is the only part of the frame
    // that differs between members: with the partition, it names the frame.
    const key = `${event.partition}|${event.cursor}`;
    const known = recent.get(key);
    if (known !== undefined) return known;
    const frame = options.render(event);
    executions += 1;
    recent.set(key, frame);
    if (recent.size > RECENT_FRAMES) recent.delete(recent.keys().next().value as string);
    return frame;
  }

  /** Live events that arrived while a round was being handed out: the next round's. */
  let waiting: Array<Delivery<TFrame>> = [];
  /** The events being handed out, to the members the cohort had when the round began. */
  let round:
    | { deliveries: Array<Delivery<TFrame>>; to: Member<TFrame>[]; next: number }
    | undefined;

  let roundBeganAtMs = Number.NEGATIVE_INFINITY;
  let isRoundDue = false;

  function scheduleRound(): void {
    if (isRoundDue) return;
    isRoundDue = true;
    const waitMs = roundBeganAtMs + ROUND_INTERVAL_MS - performance.now();
    // Else the round begins once the hub's read has dispatched all its events.
    if (waitMs > 0) setTimeout(beginRound, waitMs);
    else queueMicrotask(beginRound);
  }

  function beginRound(): void {
    isRoundDue = false;
    roundBeganAtMs = performance.now();
    round = { deliveries: waiting, to: [...members], next: 0 };
    waiting = [];
    handOut();
  }

  function handOut(): void {
    if (!round) return;
    const { deliveries, to } = round;
    const end = Math.min(round.next + MEMBERS_PER_TURN, to.length);
    for (; round.next < end; round.next += 1) {
      const member = to[round.next] as Member<TFrame>;
      for (const { event, frame } of deliveries) member.offer(event, frame);
    }
    if (round.next < to.length) {
      setImmediate(handOut);
      return;
    }
    round = undefined;
    if (waiting.length > 0) scheduleRound();
  }

  function dispatch(event: OrderEvent): void {
    const frame = frameOf(event);
    if (!round && waiting.length === 0 && members.size <= MEMBERS_PER_TURN) {
      for (const member of members) member.offer(event, frame);
      return;
    }
    // A member that joins before the round begins is offered it too, and skips it: its history
    // reaches the hub's position, which is past this event.
    waiting.push({ event, frame });
    if (!round) scheduleRound();
  }

  return {
    get position() {
      return hub.position;
    },
    get size() {
      return members.size;
    },
    get executions() {
      return executions;
    },
    frameOf,
    join(member) {
      members.add(member);
      subscription ??= hub.subscribe(options.orderId, dispatch);
    },
    leave(member) {
      if (!members.delete(member) || members.size > 0) return;
      subscription?.unsubscribe();
      subscription = undefined;
      recent.clear();
      options.onEmpty();
    },
  };
}
