import { FeedProvider } from "./client/feed.tsx";
import { DeadLettersPanel } from "./components/DeadLettersPanel.tsx";
import { FirehosePanel } from "./components/FirehosePanel.tsx";
import { ConnectionBanner, Header } from "./components/Header.tsx";
import { HealthPanel } from "./components/HealthPanel.tsx";
import { OrderJourneyPanel } from "./components/OrderJourneyPanel.tsx";
import { OrdersPanel } from "./components/OrdersPanel.tsx";
import { PlaceOrderPanel } from "./components/PlaceOrderPanel.tsx";
import { useSelectedOrderId } from "./lib/hooks.ts";

/** The dashboard: one page, every panel live. */
export function App() {
  const [orderId, selectOrder] = useSelectedOrderId();
  const showPlacedOrder = (placedId: string) => {
    selectOrder(placedId);
    // Bring the journey into view where it is off screen (a phone, a scrolled page).
    requestAnimationFrame(() =>
      document.getElementById("journey")?.scrollIntoView({ block: "nearest" }),
    );
  };
  return (
    <FeedProvider>
      <a className="skip-link" href="#journey">
        Skip to the order journey
      </a>
      <Header />
      <ConnectionBanner />
      <main className="layout" data-has-order={orderId !== undefined}>
        <div className="column">
          <PlaceOrderPanel onPlaced={showPlacedOrder} />
          <HealthPanel />
          <DeadLettersPanel />
        </div>
        <div className="column">
          <OrderJourneyPanel orderId={orderId} />
          <OrdersPanel selectedOrderId={orderId} onSelect={selectOrder} />
          <FirehosePanel onSelectOrder={selectOrder} />
        </div>
      </main>
      <footer className="footer">
        Conveyor · orders over Redis Streams, live over GraphQL subscriptions ·{" "}
        <a href="/graphql" target="_blank" rel="noreferrer">
          GraphQL API
        </a>
      </footer>
    </FeedProvider>
  );
}
