import type { ExecutionResult } from "graphql";

/**
 * One subscription result, serialised once: `json` for graphql-sse's single connection mode
 * (wrapped with the operation id), `sse` whole for Yoga's SSE and graphql-sse's distinct
 * connections (the two speak the same frames).
 */
export interface EventFrame {
  readonly json: Buffer;
  readonly sse: Buffer;
}

const NEXT = "event: next\ndata: ";
const END = "\n\n";

/** Serialises a result into its frame. */
export function frameOf(result: ExecutionResult): EventFrame {
  const json = JSON.stringify(result);
  return { json: Buffer.from(json), sse: Buffer.from(`${NEXT}${json}${END}`) };
}

/** The end of a distinct event stream. */
export const COMPLETE = Buffer.from("event: complete\ndata:\n\n");

/** Frames of one operation in a graphql-sse single connection stream. */
export interface OperationFrames {
  /** What goes before a shared `json` in a `next` frame of this operation. */
  readonly nextPrefix: Buffer;
  /** What goes after it. */
  readonly nextSuffix: Buffer;
  /** The operation's `complete` frame. */
  readonly complete: Buffer;
}

const NEXT_SUFFIX = Buffer.from(`}${END}`);

/** The framing of operation `id` in a single connection stream: `{"id":…,"payload":…}`. */
export function operationFrames(id: string): OperationFrames {
  const quoted = JSON.stringify(id);
  return {
    nextPrefix: Buffer.from(`${NEXT}{"id":${quoted},"payload":`),
    nextSuffix: NEXT_SUFFIX,
    complete: Buffer.from(`event: complete\ndata: {"id":${quoted}}${END}`),
  };
}
