import { describe, expect, it } from "vitest";
import { startTestGateway } from "../testing/test-gateway.ts";

interface Products {
  products: Array<{ sku: string; name: string; price: { amountCents: number }; stock: number }>;
}

describe("products and restock", () => {
  it("lists the seeded catalog with its initial stock, sorted by sku", async () => {
    const test = await startTestGateway({ CATALOG_INITIAL_STOCK: "7" });
    const response = await test.graphql<Products>(
      "{ products { sku name price { amountCents currency } stock } }",
    );
    const products = response.data?.products ?? [];
    expect(products).toHaveLength(8);
    expect(products.map((product) => product.sku)).toEqual(
      [...products.map((product) => product.sku)].sort(),
    );
    expect(products.every((product) => product.stock === 7)).toBe(true);
    expect(products.find((product) => product.sku === "KB-001")?.price).toEqual({
      amountCents: 8999,
      currency: "USD",
    });
  });

  it("restocks a product and shows the new stock live", async () => {
    const test = await startTestGateway({ CATALOG_INITIAL_STOCK: "10" });
    const response = await test.graphql<{ restock: { product: { sku: string; stock: number } } }>(
      'mutation { restock(input: { sku: "KB-001", quantity: 5 }) { product { sku stock } } }',
    );
    expect(response.data?.restock.product).toEqual({ sku: "KB-001", stock: 15 });
    const products = await test.graphql<Products>("{ products { sku stock } }");
    expect(products.data?.products.find((product) => product.sku === "KB-001")?.stock).toBe(15);
  });

  it("applies a restock with an idempotency key once, however often it is retried", async () => {
    const test = await startTestGateway({ CATALOG_INITIAL_STOCK: "10" });
    const call = (quantity: number) =>
      test.graphql<{ restock: { product: { stock: number } } }>(
        `mutation { restock(input: { sku: "KB-001", quantity: ${quantity}, idempotencyKey: "po-1" }) { product { stock } } }`,
      );
    const retries = await Promise.all([call(5), call(5), call(5)]);
    expect(retries.map((response) => response.data?.restock.product.stock)).toEqual([15, 15, 15]);
    const conflict = await call(6);
    expect(conflict.errors?.[0]?.extensions?.code).toBe("IDEMPOTENCY_CONFLICT");
    const products = await test.graphql<Products>("{ products { sku stock } }");
    expect(products.data?.products.find((product) => product.sku === "KB-001")?.stock).toBe(15);
  });

  it("refuses an unknown sku and quantities out of range", async () => {
    const test = await startTestGateway();
    const cases: Array<[string, string]> = [
      ['restock(input: { sku: "NOPE", quantity: 1 })', "UNKNOWN_SKU"],
      ['restock(input: { sku: "KB-001", quantity: 0 })', "BAD_USER_INPUT"],
      ['restock(input: { sku: "KB-001", quantity: 1000001 })', "BAD_USER_INPUT"],
      ['restock(input: { sku: "KB-001", quantity: 1, idempotencyKey: "" })', "BAD_USER_INPUT"],
      [
        `restock(input: { sku: "KB-001", quantity: 1, idempotencyKey: "${"k".repeat(129)}" })`,
        "BAD_USER_INPUT",
      ],
    ];
    for (const [call, code] of cases) {
      const response = await test.graphql(`mutation { ${call} { product { sku } } }`);
      expect(response.errors?.[0]?.extensions?.code, call).toBe(code);
    }
  });

  it("keeps existing stock when a second gateway starts on the same data", async () => {
    const first = await startTestGateway({ CATALOG_INITIAL_STOCK: "10" });
    await first.graphql(
      'mutation { restock(input: { sku: "KB-001", quantity: 5 }) { product { sku } } }',
    );
    const second = await startTestGateway(
      { CATALOG_INITIAL_STOCK: "10" },
      { prefix: first.prefix },
    );
    const products = await second.graphql<Products>("{ products { sku stock } }");
    expect(products.data?.products.find((product) => product.sku === "KB-001")?.stock).toBe(15);
  });
});
