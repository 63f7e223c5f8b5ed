/**
 * Stream entries exactly as Conveyor's services write them: the same flat fields, in the same
 * order, as `encodeEvent` of @conveyor/contract (k6 cannot import the contract package, which
 * needs zod and ulid, so this file restates it — keep the two in step). Every entry is valid, so
 * the service under test does its real work on it instead of dead-lettering it.
 */
import { newTraceparent } from "./trace.ts";

/** The envelope version the services accept. */
export const ENVELOPE_VERSION = "1";

/** Seeded products and their prices (see services/catalog seed data). */
export const CATALOG: ReadonlyArray<{ sku: string; priceCents: number }> = [
  { sku: "CB-001", priceCents: 1299 },
  { sku: "KB-001", priceCents: 8999 },
  { sku: "LS-001", priceCents: 3999 },
  { sku: "MS-001", priceCents: 2999 },
];

/** One priced order line, as events carry it. */
export interface OrderLine {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

/** The input event of each measurable service. */
export type ServiceUnderTest = "inventory" | "payment" | "shipment";

/** The stream (event type) each service reads, and the consumer group it reads it with. */
export const INPUT_OF: Readonly<Record<ServiceUnderTest, string>> = {
  inventory: "order.created",
  payment: "inventory.reserved",
  shipment: "payment.processed",
};

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
let lastTime = 0;
let sequence = 0;

/** A unique, time-ordered id (ULID-shaped: 10 time characters, 16 random ones). */
export function newId(): string {
  const now = Date.now();
  sequence = now === lastTime ? sequence + 1 : 0;
  lastTime = now;
  let time = "";
  let rest = now;
  for (let i = 0; i < 10; i += 1) {
    time = ALPHABET[rest % 32] + time;
    rest = Math.floor(rest / 32);
  }
  let random = sequence.toString(32).toUpperCase().padStart(4, "0").slice(-4);
  while (random.length < 16) random += ALPHABET[Math.floor(Math.random() * 32)];
  return time + random;
}

function linesOf(index: number): OrderLine[] {
  const product = CATALOG[index % CATALOG.length] ?? { sku: "KB-001", priceCents: 8999 };
  return [{ sku: product.sku, quantity: 1, unitPriceCents: product.priceCents }];
}

function totalOf(lines: readonly OrderLine[]): number {
  return lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
}

/** The `data` payload of the input event of `service` for one order. */
function payloadOf(service: ServiceUnderTest, index: number): Record<string, unknown> {
  const items = linesOf(index);
  const totalCents = totalOf(items);
  switch (service) {
    case "inventory":
      return {
        customerId: `k6-customer-${index % 100}`,
        items,
        totalCents,
        currency: "USD",
        paymentToken: "tok_visa",
      };
    case "payment":
      return {
        reservationId: `rsv_k6_${index}`,
        items,
        totalCents,
        currency: "USD",
        paymentToken: "tok_visa",
      };
    case "shipment":
      return {
        paymentId: `pay_k6_${index}`,
        reservationId: `rsv_k6_${index}`,
        amountCents: totalCents,
        currency: "USD",
        items,
      };
  }
}

const PRODUCER_OF: Readonly<Record<ServiceUnderTest, string>> = {
  inventory: "gateway",
  payment: "inventory",
  shipment: "payment",
};

/**
 * The flat XADD fields of the event `service` consumes, for a fresh order `k6-<id>`:
 * `id type orderId occurredAt producer version data traceparent`.
 */
export function inputEntry(service: ServiceUnderTest, index: number): string[] {
  return [
    "id",
    newId(),
    "type",
    INPUT_OF[service],
    "orderId",
    `k6-${newId()}`,
    "occurredAt",
    new Date().toISOString(),
    "producer",
    PRODUCER_OF[service],
    "version",
    ENVELOPE_VERSION,
    "data",
    JSON.stringify(payloadOf(service, index)),
    "traceparent",
    newTraceparent(),
  ];
}

/** The SKUs the entries order, to keep their stock up (inventory). */
export const ORDERED_SKUS: readonly string[] = CATALOG.map((product) => product.sku);
