/** Every event type that flows through Conveyor; each is its own stream. */
export const EVENT_TYPES = [
  "order.created",
  "inventory.reserved",
  "inventory.rejected",
  "payment.processed",
  "payment.failed",
  "inventory.released",
  "shipment.created",
] as const;

/** A dotted event type, which is also the name of its stream. */
export type EventType = (typeof EVENT_TYPES)[number];

/** The service names that produce events (the envelope's `producer`). */
export const SERVICE_NAMES = ["gateway", "inventory", "payment", "shipment"] as const;

/** A service name. */
export type ServiceName = (typeof SERVICE_NAMES)[number];

/**
 * The position of each event type in an order's life. Events of one order are causally ordered
 * by it (each step is produced only after the previous one was consumed), which lets a read
 * model put events that arrive out of order back in sequence.
 */
export const EVENT_STEP: Readonly<Record<EventType, number>> = {
  "order.created": 1,
  "inventory.reserved": 2,
  "inventory.rejected": 2,
  "payment.processed": 3,
  "payment.failed": 3,
  "inventory.released": 4,
  "shipment.created": 4,
};

/**
 * Which consumer groups read each stream: the pipeline's topology. A stream is never trimmed
 * while one of its groups does not exist yet, so a service started late still finds every entry.
 */
export const STREAM_CONSUMER_GROUPS: Readonly<Record<EventType, readonly string[]>> = {
  "order.created": ["inventory", "gateway"],
  "inventory.reserved": ["payment", "gateway"],
  "inventory.rejected": ["gateway"],
  "payment.processed": ["shipment", "gateway"],
  "payment.failed": ["inventory", "gateway"],
  "inventory.released": ["gateway"],
  "shipment.created": ["gateway"],
};

/** Whether a string names a known event type. */
export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}
