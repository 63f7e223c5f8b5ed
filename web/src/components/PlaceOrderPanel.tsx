import { type FormEvent, useId, useMemo, useState } from "react";
import { useMutation, useQuery } from "urql";
import { useFeed } from "../client/feed.tsx";
import { describeError, type ErrorView } from "../lib/errors.ts";
import { formatMoney } from "../lib/format.ts";
import { useDebouncedOnChange, useInterval, useLastKnown } from "../lib/hooks.ts";
import {
  CatalogQuery,
  PlaceOrderMutation,
  type ProductView,
  RestockMutation,
} from "../operations.ts";
import { EmptyState, ErrorNote, Panel } from "./ui.tsx";

/** The test cards of the payment service. */
const PAYMENT_TOKENS = [
  { token: "tok_visa", label: "Approve", hint: "tok_visa" },
  { token: "tok_chargeDeclined", label: "Decline", hint: "tok_chargeDeclined" },
] as const;

const LOW_STOCK = 10;
const MAX_QUANTITY = 1000;

function StockLabel({ stock }: { stock: number }) {
  if (stock <= 0) return <span className="stock stock-out">Out of stock</span>;
  if (stock < LOW_STOCK) return <span className="stock stock-low">{stock} left</span>;
  return <span className="stock">{stock.toLocaleString("en-US")} in stock</span>;
}

function QuantityInput(props: {
  product: ProductView;
  value: number;
  onChange(quantity: number): void;
}) {
  const { product, value, onChange } = props;
  const inputId = useId();
  const set = (quantity: number) =>
    onChange(Math.max(0, Math.min(MAX_QUANTITY, Number.isFinite(quantity) ? quantity : 0)));
  return (
    <div className="stepper">
      <button
        type="button"
        className="stepper-button"
        aria-label={`One less ${product.name}`}
        disabled={value <= 0}
        onClick={() => set(value - 1)}
      >
        −
      </button>
      <label htmlFor={inputId} className="visually-hidden">
        Quantity of {product.name}
      </label>
      <input
        id={inputId}
        className="stepper-input"
        type="number"
        inputMode="numeric"
        min={0}
        max={MAX_QUANTITY}
        value={value}
        onChange={(event) => set(Math.trunc(Number(event.target.value)))}
      />
      <button
        type="button"
        className="stepper-button"
        aria-label={`One more ${product.name}`}
        disabled={value >= MAX_QUANTITY}
        onClick={() => set(value + 1)}
      >
        +
      </button>
    </div>
  );
}

/** The catalog with live stock, quantities, a test card choice and the place-order button. */
export function PlaceOrderPanel({ onPlaced }: { onPlaced(orderId: string): void }) {
  const [catalog, refetchCatalog] = useQuery({ query: CatalogQuery });
  const [placing, placeOrder] = useMutation(PlaceOrderMutation);
  const [, restock] = useMutation(RestockMutation);
  const [quantities, setQuantities] = useState<Record<string, number>>({});
  const [customerId, setCustomerId] = useState("cus_demo");
  const [paymentToken, setPaymentToken] = useState<string>("tok_visa");
  const [errors, setErrors] = useState<ErrorView[]>([]);
  const feed = useFeed();
  const customerInputId = useId();

  // Stock moves with every reservation and release: refresh on events, and now and then.
  const refresh = () => refetchCatalog({ requestPolicy: "network-only" });
  useDebouncedOnChange(feed.events.at(-1)?.cursor, refresh, 400);
  useInterval(refresh, 10_000);

  const products = useLastKnown(catalog.data)?.products ?? [];
  const lines = products.flatMap((product) => {
    const quantity = quantities[product.sku] ?? 0;
    return quantity > 0 ? [{ product, quantity }] : [];
  });
  const total = useMemo(() => {
    const currency = lines[0]?.product.price.currency ?? "USD";
    const amountCents = lines.reduce(
      (sum, { product, quantity }) => sum + product.price.amountCents * quantity,
      0,
    );
    return { amountCents, currency };
  }, [lines]);
  const unitCount = lines.reduce((sum, line) => sum + line.quantity, 0);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setErrors([]);
    const result = await placeOrder({
      input: {
        customerId: customerId.trim(),
        items: lines.map(({ product, quantity }) => ({ sku: product.sku, quantity })),
        paymentToken,
        idempotencyKey: crypto.randomUUID(),
      },
    });
    if (result.error) {
      setErrors(describeError(result.error));
      return;
    }
    const order = result.data?.placeOrder.order;
    if (order) {
      setQuantities({});
      onPlaced(order.id);
    }
  }

  return (
    <Panel
      id="place-order"
      title="Place an order"
      subtitle="Prices and stock come live from the catalog."
    >
      <form className="order-form" onSubmit={submit} aria-describedby="order-summary">
        {catalog.error && products.length === 0 ? (
          <ErrorNote {...(describeError(catalog.error)[0] ?? { message: "Catalog unavailable" })} />
        ) : null}
        {catalog.fetching && products.length === 0 ? (
          <EmptyState title="Loading the catalog…" />
        ) : null}
        <ul className="catalog" aria-label="Catalog">
          {products.map((product) => {
            const quantity = quantities[product.sku] ?? 0;
            return (
              <li key={product.sku} className="catalog-row" data-selected={quantity > 0}>
                <div className="catalog-product">
                  <span className="catalog-name">{product.name}</span>
                  <span className="catalog-meta">
                    <span className="sku">{product.sku}</span>
                    <StockLabel stock={product.stock} />
                    {product.stock < LOW_STOCK ? (
                      <button
                        type="button"
                        className="link-button"
                        onClick={() => restock({ input: { sku: product.sku, quantity: 100 } })}
                      >
                        Restock 100
                      </button>
                    ) : null}
                  </span>
                </div>
                <span className="catalog-price">{formatMoney(product.price)}</span>
                <QuantityInput
                  product={product}
                  value={quantity}
                  onChange={(next) =>
                    setQuantities((current) => ({ ...current, [product.sku]: next }))
                  }
                />
              </li>
            );
          })}
        </ul>

        <div className="form-grid">
          <div className="field">
            <label htmlFor={customerInputId}>Customer ID</label>
            <input
              id={customerInputId}
              className="text-input"
              value={customerId}
              maxLength={128}
              autoComplete="off"
              spellCheck={false}
              onChange={(event) => setCustomerId(event.target.value)}
            />
          </div>
          <fieldset className="field payment-choice">
            <legend>Payment</legend>
            <div className="segmented">
              {PAYMENT_TOKENS.map((option) => (
                <label key={option.token} className="segment" data-token={option.token}>
                  <input
                    type="radio"
                    name="paymentToken"
                    value={option.token}
                    checked={paymentToken === option.token}
                    onChange={() => setPaymentToken(option.token)}
                  />
                  <span className="segment-label">{option.label}</span>
                  <code className="segment-hint">{option.hint}</code>
                </label>
              ))}
            </div>
          </fieldset>
        </div>

        {errors.map((error) => (
          <ErrorNote
            key={`${error.code}:${error.message}`}
            message={error.message}
            code={error.code}
          />
        ))}

        <div className="order-footer">
          <p id="order-summary" className="order-summary" aria-live="polite">
            {unitCount === 0 ? (
              "Pick at least one product."
            ) : (
              <>
                {unitCount} {unitCount === 1 ? "item" : "items"} ·{" "}
                <strong className="order-total">{formatMoney(total)}</strong>
              </>
            )}
          </p>
          <button type="submit" className="button-primary" disabled={placing.fetching}>
            {placing.fetching ? "Placing…" : "Place order"}
          </button>
        </div>
      </form>
    </Panel>
  );
}
