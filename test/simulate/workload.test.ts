import { describe, expect, it } from "vitest";
import { createCl100kTokenizer } from "../../src/core/tokenizer.js";
import { ONE_TOKEN_WORDS } from "../../src/simulate/words.js";
import { type Arrival, arrivals, CHAT_LENGTHS, type WorkloadSpec } from "../../src/simulate/workload.js";

const SPEC: WorkloadSpec = {
  rate: 50,
  durationS: 4,
  model: "qwen",
  ...CHAT_LENGTHS,
  sloClassMix: { interactive: 1, batch: 3 },
  clients: 10,
  temperature: 1,
};

const take = (spec: WorkloadSpec, seed: number): Arrival[] => [...arrivals(spec, seed)];

describe("simulate workload", () => {
  it("is reproducible from its seed, and another seed gives another sequence", () => {
    const a = take(SPEC, 3);
    expect(take(SPEC, 3)).toEqual(a);
    expect(take(SPEC, 4).map((x) => x.atMs)).not.toEqual(a.map((x) => x.atMs));
  });

  it("arrives as a Poisson process at the rate, in order, within the duration", () => {
    const all = take(
      { ...SPEC, rate: 200, durationS: 50, promptTokens: { ...SPEC.promptTokens, max: 16 } },
      1,
    );
    // 10,000 expected; the count's standard deviation is 100.
    expect(Math.abs(all.length - 10_000)).toBeLessThan(400);
    for (let i = 1; i < all.length; i++) expect(all[i]!.atMs).toBeGreaterThanOrEqual(all[i - 1]!.atMs);
    expect(all.at(-1)!.atMs).toBeLessThan(50_000);
    expect(all.map((x) => x.index)).toEqual(all.map((_, i) => i));
  });

  it("draws lengths inside the clamps, classes from the mix and clients in range", () => {
    const all = take(SPEC, 5);
    for (const x of all) {
      expect(x.promptTokens).toBeGreaterThanOrEqual(16);
      expect(x.promptTokens).toBeLessThanOrEqual(8000);
      expect(x.outputTokens).toBeGreaterThanOrEqual(1);
      expect(x.outputTokens).toBeLessThanOrEqual(1024);
      expect(x.client).toBeGreaterThanOrEqual(0);
      expect(x.client).toBeLessThan(10);
    }
    const batch = all.filter((x) => x.sloClass === "batch").length;
    expect(batch / all.length).toBeGreaterThan(0.6);
    expect(batch / all.length).toBeLessThan(0.9);
    expect(take({ ...SPEC, sloClassMix: {} }, 5).every((x) => x.sloClass === undefined)).toBe(true);
  });

  it("writes prompts of exactly the drawn number of cl100k tokens", () => {
    const tokenizer = createCl100kTokenizer();
    const sample = take(SPEC, 9).slice(0, 40);
    for (const x of sample) {
      expect(tokenizer.encode(x.prompt)).toHaveLength(x.promptTokens);
      // The ids handed to the pipeline are what the tokenizer would have produced.
      expect(x.promptIds).toEqual(tokenizer.encode(x.prompt));
    }
  });

  it("uses only words that are one cl100k token after a space", () => {
    const tokenizer = createCl100kTokenizer();
    for (const word of ONE_TOKEN_WORDS) expect(tokenizer.encode(` ${word}`), word).toHaveLength(1);
  });

  it("is a lazy generator: a workload of a billion requests yields its first at once", () => {
    const first = arrivals({ ...SPEC, rate: 1e6, durationS: 1000 }, 1).next();
    expect(first.done).toBe(false);
  });

  it("rejects an invalid spec, naming every bad field", () => {
    expect(() => take({ ...SPEC, rate: 0, clients: 0 }, 1)).toThrow(
      /rate must be > 0, got 0; clients must be an integer >= 1, got 0/,
    );
  });
});
