import { randomFillSync } from "node:crypto";

/** Crockford's base32, the alphabet of ULIDs. */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const TIME_LENGTH = 10;
const RANDOM_LENGTH = 16;
const RANDOM_BYTES = 10;

/** Random bytes drawn in bulk: one `randomFillSync` per 256 ids, not one per character. */
const pool = new Uint8Array(RANDOM_BYTES * 256);
let poolOffset = pool.length;

/** Fills `digits` with 16 random base32 digits (80 bits) from the pool. */
function drawRandom(digits: number[]): void {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  // Two 40-bit halves, each exact in a double, each giving 8 digits.
  for (let half = 0; half < 2; half += 1) {
    const at = poolOffset + half * 5;
    let value =
      ((pool[at] as number) * 2 ** 32 +
        (((pool[at + 1] as number) << 24) |
          ((pool[at + 2] as number) << 16) |
          ((pool[at + 3] as number) << 8) |
          (pool[at + 4] as number))) >>>
      0;
    for (let index = half * 8 + 7; index >= half * 8; index -= 1) {
      digits[index] = value % 32;
      value = Math.floor(value / 32);
    }
  }
  poolOffset += RANDOM_BYTES;
}

/** Adds one to the random digits, as a ULID factory must within one millisecond. */
function increment(digits: number[]): void {
  for (let index = RANDOM_LENGTH - 1; index >= 0; index -= 1) {
    if ((digits[index] as number) < 31) {
      digits[index] = (digits[index] as number) + 1;
      return;
    }
    digits[index] = 0;
  }
  throw new Error("ULID random part overflowed within one millisecond");
}

function encodeTime(ms: number): string {
  let text = "";
  for (let index = 0, rest = ms; index < TIME_LENGTH; index += 1) {
    text = ALPHABET[rest % 32] + text;
    rest = Math.floor(rest / 32);
  }
  return text;
}

/**
 * Makes a monotonic ULID factory: 26 characters of Crockford base32, 48 bits of milliseconds then
 * 80 random bits, as the `ulid` package's `monotonicFactory` makes them. Ids sort by time, and
 * ids made within one millisecond (or while the clock steps back) sort in the order they were
 * made: the random part of the last id is incremented instead of drawn again.
 */
export function createUlidFactory(now: () => number = Date.now): () => string {
  let lastTime = -1;
  let timePart = "";
  const digits = new Array<number>(RANDOM_LENGTH).fill(0);
  return () => {
    const time = now();
    if (time > lastTime) {
      lastTime = time;
      timePart = encodeTime(time);
      drawRandom(digits);
    } else {
      increment(digits);
    }
    let id = timePart;
    for (const digit of digits) id += ALPHABET[digit];
    return id;
  };
}
