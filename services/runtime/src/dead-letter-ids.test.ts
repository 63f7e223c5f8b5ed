import { createKeys } from "@conveyor/contract";
import { describe, expect, it } from "vitest";
import {
  compareDeadLetters,
  formatDeadLetterId,
  isStreamEntryId,
  parseDeadLetterId,
} from "./dead-letter-ids.ts";

const one = createKeys("test:");
const four = createKeys("test:", 4);

describe("dead letter ids", () => {
  it("are plain entry ids with one partition, as they always were", () => {
    expect(formatDeadLetterId(one, 0, "1700000000000-0")).toBe("1700000000000-0");
    expect(parseDeadLetterId(one, "1700000000000-0")).toEqual({
      partition: one.partition(0),
      entryId: "1700000000000-0",
    });
  });

  it("name their partition with several, and read back to the same place", () => {
    expect(formatDeadLetterId(four, 3, "1700000000000-5")).toBe("3/1700000000000-5");
    expect(parseDeadLetterId(four, "3/1700000000000-5")).toEqual({
      partition: four.partition(3),
      entryId: "1700000000000-5",
    });
    expect(parseDeadLetterId(four, "0/1-0")?.partition.index).toBe(0);
  });

  it.each([
    ["a qualified id with one partition", one, "0/1700000000000-0"],
    ["a plain id with several", four, "1700000000000-0"],
    ["a partition out of range", four, "4/1700000000000-0"],
    ["a leading zero", four, "01/1700000000000-0"],
    ["a sign", four, "-1/1700000000000-0"],
    ["a space", four, " 1/1700000000000-0"],
    ["no sequence", four, "1/1700000000000"],
    ["a second slash", four, "1/1700000000000-0/2"],
    ["a time past 2^64 - 1", four, "1/18446744073709551616-0"],
    ["no entry id", four, "1/"],
    ["nothing", four, ""],
    ["words", one, "not-an-id"],
    ["a trailing newline", one, "1700000000000-0\n"],
  ])("refuse %s", (_case, keys, id) => {
    expect(parseDeadLetterId(keys, id)).toBeUndefined();
  });

  it("accept the largest entry id Redis has", () => {
    expect(isStreamEntryId("18446744073709551615-18446744073709551615")).toBe(true);
    expect(isStreamEntryId("18446744073709551615-18446744073709551616")).toBe(false);
  });

  it("order by entry id, numerically, then by partition", () => {
    const at = (partition: number, entryId: string) => ({
      partition: four.partition(partition),
      entryId,
    });
    const shuffled = [at(0, "10-0"), at(3, "9-1"), at(1, "10-0"), at(2, "9-10"), at(0, "9-1")];
    const sorted = [...shuffled].sort(compareDeadLetters);
    expect(
      sorted.map((address) => formatDeadLetterId(four, address.partition.index, address.entryId)),
    ).toEqual(["0/9-1", "3/9-1", "2/9-10", "0/10-0", "1/10-0"]);
  });
});
