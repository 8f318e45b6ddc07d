import { describe, expect, it } from "vitest";
import { pickLeastOutstanding } from "../../src/routing/least-outstanding.js";

describe("pickLeastOutstanding", () => {
  it.each([
    { name: "fewest outstanding wins", loads: [3, 1, 2], ready: [true, true, true], cursor: 0, want: 1 },
    {
      name: "skips replicas that are not ready",
      loads: [3, 0, 2],
      ready: [true, false, true],
      cursor: 0,
      want: 2,
    },
    {
      name: "ties go to the first from the cursor",
      loads: [1, 1, 1],
      ready: [true, true, true],
      cursor: 2,
      want: 2,
    },
    { name: "ties wrap around", loads: [0, 5, 0], ready: [true, true, true], cursor: 1, want: 2 },
    { name: "none ready", loads: [0, 0], ready: [false, false], cursor: 0, want: -1 },
    { name: "empty pool", loads: [], ready: [], cursor: 0, want: -1 },
  ])("$name", ({ loads, ready, cursor, want }) => {
    const replicas = loads.map((outstanding, i) => ({ outstanding, ready: ready[i]! }));
    expect(pickLeastOutstanding(replicas, cursor)).toBe(want);
  });

  it("spreads equal load round-robin as the cursor advances", () => {
    const replicas = [0, 0, 0].map((outstanding) => ({ outstanding, ready: true }));
    expect([0, 1, 2, 3].map((cursor) => pickLeastOutstanding(replicas, cursor % 3))).toEqual([0, 1, 2, 0]);
  });
});
