import { createTestSystem } from "@conveyor/testkit";
import { it } from "vitest";
import { expectNoOversell } from "./scenarios/oversell.ts";

it("never oversells: 200 orders racing across two inventory processes get exactly the 20 units", async () => {
  await expectNoOversell(createTestSystem("oversell"));
});
