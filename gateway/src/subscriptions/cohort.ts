import type { FeedPosition } from "../feed/cursor.ts";
import type { EventHub, HubSubscription } from "../feed/event-hub.ts";
import type { OrderEvent } from "../read-model/records.ts";
import type { Member } from "./member.ts";

/** Frames kept per cohort for the members still catching up (newest last). */
const RECENT_FRAMES = 256;

/**
 * Members served in one turn of the event loop. A cohort of thousands hands an event out over
 * several turns, so requests (placeOrder) are served in between instead of waiting for the whole
 * fan-out; each member still gets its events in order.
 */
const MEMBERS_PER_TURN = 256;

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

  /** Events still being handed out, each to the members it had when it arrived. */
  const handingOut: Array<{
    event: OrderEvent;
    frame: TFrame;
    to: Member<TFrame>[];
    next: number;
  }> = [];

  function handOut(): void {
    let budget = MEMBERS_PER_TURN;
    for (let head = handingOut[0]; head && budget > 0; head = handingOut[0]) {
      for (; head.next < head.to.length && budget > 0; head.next += 1, budget -= 1) {
        head.to[head.next]?.offer(head.event, head.frame);
      }
      if (head.next >= head.to.length) handingOut.shift();
    }
    if (handingOut.length > 0) setImmediate(handOut);
  }

  function dispatch(event: OrderEvent): void {
    const frame = frameOf(event);
    if (handingOut.length === 0 && members.size <= MEMBERS_PER_TURN) {
      for (const member of members) member.offer(event, frame);
      return;
    }
    // A member that joins meanwhile reads this event from history, up to the hub's position.
    handingOut.push({ event, frame, to: [...members], next: 0 });
    if (handingOut.length === 1) handOut();
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
