import { graphql, type ResultOf } from "./graphql.ts";

/** The fields of an event every view shows. */
export const EventFields = graphql(`
  fragment EventFields on OrderEvent {
    id
    cursor
    type
    orderId
    service
    occurredAt
    data
    traceId
  }
`);

/** One event as the views get it. */
export type OrderEventView = ResultOf<typeof EventFields>;

export const MoneyFields = graphql(`
  fragment MoneyFields on Money {
    amountCents
    currency
  }
`);

export const CatalogQuery = graphql(
  `
  query Catalog {
    products {
      sku
      name
      stock
      price {
        ...MoneyFields
      }
    }
  }
`,
  [MoneyFields],
);

/** A product of the catalog. */
export type ProductView = ResultOf<typeof CatalogQuery>["products"][number];

export const PlaceOrderMutation = graphql(
  `
  mutation PlaceOrder($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      order {
        id
        status
        createdAt
        total {
          ...MoneyFields
        }
      }
    }
  }
`,
  [MoneyFields],
);

export const RestockMutation = graphql(`
  mutation Restock($input: RestockInput!) {
    restock(input: $input) {
      product {
        sku
        stock
      }
    }
  }
`);

export const OrderQuery = graphql(
  `
  query Order($id: ID!) {
    order(id: $id) {
      id
      status
      customerId
      createdAt
      updatedAt
      traceId
      traceUrl
      failureReason
      total {
        ...MoneyFields
      }
      items {
        sku
        quantity
        unitPrice {
          ...MoneyFields
        }
      }
    }
  }
`,
  [MoneyFields],
);

/** An order's details for the journey view. */
export type OrderDetails = NonNullable<ResultOf<typeof OrderQuery>["order"]>;

export const OrderEventsSubscription = graphql(
  `
  subscription OrderEvents($orderId: ID!, $after: String) {
    orderEvents(orderId: $orderId, after: $after) {
      ...EventFields
    }
  }
`,
  [EventFields],
);

export const EventsSubscription = graphql(
  `
  subscription Events($after: String) {
    events(after: $after) {
      ...EventFields
    }
  }
`,
  [EventFields],
);

/** The history of the latest orders: where the firehose starts. */
export const RecentEventsQuery = graphql(
  `
  query RecentEvents {
    orders(first: 10) {
      nodes {
        id
        events {
          ...EventFields
        }
      }
    }
  }
`,
  [EventFields],
);

export const OrdersQuery = graphql(
  `
  query Orders($first: Int, $after: String, $status: OrderStatus) {
    orders(first: $first, after: $after, status: $status) {
      totalCount
      pageInfo {
        endCursor
        hasNextPage
      }
      nodes {
        id
        status
        customerId
        createdAt
        updatedAt
        failureReason
        total {
          ...MoneyFields
        }
        items {
          quantity
        }
      }
    }
  }
`,
  [MoneyFields],
);

/** A row of the orders list. */
export type OrderRow = ResultOf<typeof OrdersQuery>["orders"]["nodes"][number];

export const PipelineHealthQuery = graphql(`
  query PipelineHealth {
    pipelineHealth {
      deadLetterCount
      sampledAt
      services {
        name
        consumers
        pending
        lag
        throughputPerSecond
      }
      streams {
        name
        length
      }
    }
  }
`);

/** One health report. */
export type HealthReport = ResultOf<typeof PipelineHealthQuery>["pipelineHealth"];

/** The dead letters, newest first (an operator's view). */
export const DeadLettersQuery = graphql(`
  query DeadLetters($first: Int!, $after: String) {
    deadLetters(first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        stream
        service
        reason
        lastError
        deliveryCount
        deadLetteredAt
        orderId
        fields
      }
    }
  }
`);

/** Puts one dead letter back into its stream. */
export const RedeliverDeadLetterMutation = graphql(`
  mutation RedeliverDeadLetter($id: ID!) {
    redeliverDeadLetter(id: $id) {
      entryId
      deadLetter {
        id
      }
    }
  }
`);

/** Who the gateway takes the dashboard for, and whether it checks tokens at all. */
export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      kind
      id
      expiresAt
      authMode
    }
  }
`);
