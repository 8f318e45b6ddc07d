import { describe, expect, it } from "vitest";
import { botAddresses, fromBots } from "../../bench/lib/bot-clients.js";
import type { WorkloadRequest } from "../../bench/lib/workload.js";
import { SeededRandom } from "../../src/core/random.js";

const base: WorkloadRequest = {
  body: {},
  bodyText: "{}",
  headers: { "content-type": "application/json" },
  promptTokens: 1,
  userTokens: 1,
  maxTokens: 1,
  repeated: false,
};

describe("botAddresses", () => {
  it("hands out distinct addresses in 10.0.0.0/8, from 10.0.0.1", () => {
    expect(botAddresses(3)).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    const many = botAddresses(70_000);
    expect(new Set(many).size).toBe(70_000);
    expect(many[255]).toBe("10.0.1.0");
    expect(many.at(-1)).toBe("10.1.17.112");
  });

  it("rejects a count that is not a positive integer", () => {
    expect(() => botAddresses(0)).toThrow(/count/);
    expect(() => botAddresses(1.5)).toThrow(/count/);
  });
});

describe("fromBots", () => {
  it("adds one of the addresses as x-forwarded-for, reproducibly, leaving the source's headers alone", () => {
    const draw = (seed: number) => {
      const next = fromBots({ next: () => base, addresses: botAddresses(4), random: new SeededRandom(seed) });
      return Array.from({ length: 400 }, () => next().headers["x-forwarded-for"]);
    };
    const first = draw(7);
    expect(draw(7)).toEqual(first);
    const counts = new Map<string | undefined, number>();
    for (const a of first) counts.set(a, (counts.get(a) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(botAddresses(4));
    for (const n of counts.values()) expect(n).toBeGreaterThan(60);
    expect(base.headers).toEqual({ "content-type": "application/json" });
  });

  it("rejects an empty address list", () => {
    expect(() => fromBots({ next: () => base, addresses: [], random: new SeededRandom(1) })).toThrow(/empty/);
  });
});
