/** An amount of money as the API sends it. */
export interface Money {
  amountCents: number;
  currency: string;
}

const moneyFormats = new Map<string, Intl.NumberFormat>();

/** `$1,299.00`: integer cents shown in their currency. */
export function formatMoney({ amountCents, currency }: Money): string {
  let format = moneyFormats.get(currency);
  if (!format) {
    format = new Intl.NumberFormat("en-US", { style: "currency", currency });
    moneyFormats.set(currency, format);
  }
  return format.format(amountCents / 100);
}

/** A duration for people: `0 ms`, `850 ms`, `1.2 s`, `42 s`, `3 min 5 s`, `2 h 4 min`. */
export function formatDuration(durationMs: number): string {
  const ms = Math.max(0, Math.round(durationMs));
  if (ms < 1000) return `${ms} ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 ? `${minutes} min ${seconds % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}

/** The time from the previous step to this one (`+120 ms`), or undefined for the first step. */
export function formatSincePrevious(
  occurredAt: string,
  previousOccurredAt: string | undefined,
): string | undefined {
  if (previousOccurredAt === undefined) return undefined;
  const deltaMs = Date.parse(occurredAt) - Date.parse(previousOccurredAt);
  return Number.isFinite(deltaMs) ? `+${formatDuration(deltaMs)}` : undefined;
}

const pad = (value: number, width = 2) => String(value).padStart(width, "0");

/** Local wall-clock time with milliseconds (`14:03:22.123`): events are often ms apart. */
export function formatClock(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** How long ago, coarsely (`just now`, `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`). */
export function formatAgo(iso: string, nowMs: number): string {
  const deltaMs = nowMs - Date.parse(iso);
  if (!Number.isFinite(deltaMs)) return "";
  const seconds = Math.floor(deltaMs / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

/** Compact counts: `999`, `1.2k`, `34k`, `1.5M`. */
export function formatCount(count: number): string {
  if (count < 1000) return String(count);
  if (count < 10_000) return `${(count / 1000).toFixed(1).replace(/\.0$/, "")}k`;
  if (count < 1_000_000) return `${Math.round(count / 1000)}k`;
  return `${(count / 1_000_000).toFixed(1).replace(/\.0$/, "")}M`;
}

/** Events per second: `0`, `0.4`, `12`, `1.2k`. */
export function formatRate(perSecond: number): string {
  if (perSecond === 0) return "0";
  if (perSecond < 10) return perSecond.toFixed(1).replace(/\.0$/, "");
  return formatCount(Math.round(perSecond));
}

/** The last characters of a ULID: enough to tell orders apart at a glance. */
export function shortId(id: string): string {
  return id.length > 10 ? `…${id.slice(-8)}` : id;
}
