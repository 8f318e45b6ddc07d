import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createCl100kTokenizer } from "../../src/core/tokenizer.js";
import { REPEAT_POOL_SIZE } from "../../src/simulate/recent-prompts.js";
import { NamedPrefixes } from "../../src/simulate/sampling.js";
import { type Arrival, arrivals, CHAT_LENGTHS, type WorkloadSpec } from "../../src/simulate/workload.js";

/** The CLI's default workload (no new flag), at 10 requests/s for 30 s. */
const DEFAULT: WorkloadSpec = {
  rate: 10,
  durationS: 30,
  model: "m",
  ...CHAT_LENGTHS,
  sloClassMix: {},
  clients: 1000,
  temperature: 1,
};

/** Many short requests, for shares measured over a few thousand arrivals. */
const SMALL: WorkloadSpec = {
  ...DEFAULT,
  rate: 100,
  durationS: 40,
  promptTokens: { median: 20, sigma: 0.5, min: 4, max: 64 },
  outputTokens: { median: 8, sigma: 0.5, min: 1, max: 32 },
  clients: 50,
};

const take = (spec: WorkloadSpec, seed: number): Arrival[] => [...arrivals(spec, seed)];

/** SHA-256 over every field of every arrival, prompt text and ids included. */
function fingerprint(all: readonly Arrival[]): string {
  const hash = createHash("sha256");
  for (const a of all) {
    const fields = [a.index, a.atMs, a.promptTokens, a.outputTokens, a.client, a.sloClass ?? null];
    hash.update(JSON.stringify([...fields, a.prompt, a.promptIds]));
  }
  return hash.digest("hex");
}

describe("synthetic workload: the default is unchanged", () => {
  // Captured from arrivals() before shared prefixes, repeats and the new CLI flags were added: recorded
  // results and traces written with --trace-out depend on these staying the same.
  it("gives seed 1 the arrivals it always had", () => {
    const all = take(DEFAULT, 1);
    expect(all).toHaveLength(308);
    const head = all.slice(0, 3).map((a) => ({
      atMs: a.atMs,
      promptTokens: a.promptTokens,
      outputTokens: a.outputTokens,
      client: a.client,
      ids: a.promptIds.slice(0, 5),
      words: a.prompt.slice(0, 40),
    }));
    expect(head).toEqual([
      {
        atMs: 43.56595385853585,
        promptTokens: 2160,
        outputTokens: 143,
        client: 546,
        ids: [2019, 3131, 1364, 4689, 1253],
        words: " say once she general may since when pla",
      },
      {
        atMs: 55.13170607452833,
        promptTokens: 4901,
        outputTokens: 76,
        client: 703,
        ids: [2978, 3446, 1274, 3363, 3388],
        words: " school story people city course could w",
      },
      {
        atMs: 345.2771055692777,
        promptTokens: 949,
        outputTokens: 25,
        client: 907,
        ids: [1511, 1436, 387, 5415, 1790],
        words: " used could be states much used see give",
      },
    ]);
    expect(all.at(-1)).toMatchObject({ index: 307, atMs: 29978.54926118196, promptTokens: 183 });
    expect(all.every((a) => a.prefix === undefined && a.sloClass === undefined)).toBe(true);
    expect(fingerprint(all)).toBe("2dedf14f39a2d12c8cadf593fd85d26d391bffe75873e59e3f0034982f3ce776");
    const mixed = take({ ...DEFAULT, sloClassMix: { interactive: 1, batch: 3 } }, 1);
    expect(fingerprint(mixed)).toBe("0fdc2f7d2c76c550cfe1e90ac75f1abb46bb7269d193d96be96cfbec31947b6f");
  });

  it("is the same with the new knobs present but off", () => {
    const off = take({ ...DEFAULT, sharedPrefix: { ratio: 0, prefixes: 4, tokens: 512 }, repeatRatio: 0 }, 1);
    expect(off).toStrictEqual(take(DEFAULT, 1));
  });
});

describe("synthetic workload: shared prefixes", () => {
  const spec: WorkloadSpec = { ...SMALL, sharedPrefix: { ratio: 0.5, prefixes: 4, tokens: 48 } };

  it("gives about RATIO of requests one of COUNT prefixes of TOKENS tokens, on top of the drawn length", () => {
    const all = take(spec, 2);
    const plain = take(SMALL, 2);
    expect(all.length).toBeGreaterThan(3000);
    const shared = all.filter((a) => a.prefix !== undefined);
    // Binomial: the standard deviation of the share is under 0.01 here.
    expect(Math.abs(shared.length / all.length - 0.5)).toBeLessThan(0.04);
    expect(new Set(shared.map((a) => a.prefix!.id))).toEqual(
      new Set(["shared-0", "shared-1", "shared-2", "shared-3"]),
    );
    for (const [i, a] of all.entries()) {
      // Times, lengths, clients and the request's own words are those of the workload without sharing.
      const own = plain[i]!;
      expect([a.atMs, a.outputTokens, a.client]).toEqual([own.atMs, own.outputTokens, own.client]);
      const extra = a.prefix?.tokens ?? 0;
      expect(a.prefix === undefined || a.prefix.tokens === 48).toBe(true);
      expect(a.promptTokens).toBe(own.promptTokens + extra);
      expect(a.promptIds).toHaveLength(a.promptTokens);
      expect(a.promptIds.slice(extra)).toEqual(own.promptIds);
    }
  });

  it("begins requests with the same prefix id with the same TOKENS ids, the words traces give that id", () => {
    const byId = new Map<string, readonly number[]>();
    const named = new NamedPrefixes();
    for (const a of take(spec, 3).slice(0, 400)) {
      if (a.prefix === undefined) continue;
      const head = a.promptIds.slice(0, 48);
      expect(head).toEqual(byId.get(a.prefix.id) ?? head);
      byId.set(a.prefix.id, head);
      expect(a.prompt.startsWith(named.of(a.prefix.id, 48).text)).toBe(true);
    }
    expect(byId.size).toBe(4);
    expect(new Set([...byId.values()].map((ids) => ids.join())).size).toBe(4);
  });

  it("writes prompts whose ids are the tokenizer's", () => {
    const tokenizer = createCl100kTokenizer();
    for (const a of take(spec, 4).slice(0, 60)) expect(tokenizer.encode(a.prompt)).toEqual(a.promptIds);
  });
});

describe("synthetic workload: exact repeats", () => {
  const spec: WorkloadSpec = { ...SMALL, repeatRatio: 0.3, sloClassMix: { standard: 1, batch: 1 } };

  it("repeats about RATIO of requests, each an exact copy of a recent distinct request", () => {
    const all = take(spec, 5);
    const plain = take({ ...SMALL, sloClassMix: spec.sloClassMix }, 5);
    expect(all.length).toBeGreaterThan(3000);
    const repeats = all.filter((a) => a.prefix?.id.startsWith("#"));
    expect(Math.abs(repeats.length / all.length - 0.3)).toBeLessThan(0.04);
    const distinct: Arrival[] = [];
    for (const [i, a] of all.entries()) {
      // Times and clients do not depend on the repeats.
      expect([a.atMs, a.client]).toEqual([plain[i]!.atMs, plain[i]!.client]);
      if (a.prefix === undefined) {
        distinct.push(a);
        continue;
      }
      const n = Number(a.prefix.id.slice(1));
      const original = all[n]!;
      expect(original.prefix).toBeUndefined();
      expect(a.prefix.tokens).toBe(a.promptTokens);
      expect([a.prompt, a.promptIds, a.promptTokens, a.outputTokens, a.sloClass]).toEqual([
        original.prompt,
        original.promptIds,
        original.promptTokens,
        original.outputTokens,
        original.sloClass,
      ]);
      // One of the last REPEAT_POOL_SIZE distinct requests.
      expect(distinct.slice(-REPEAT_POOL_SIZE)).toContain(original);
    }
    // Some repeats reach far back in the pool, so it really holds many requests.
    const reach = repeats.map((a) => a.index - Number(a.prefix!.id.slice(1)));
    expect(Math.max(...reach)).toBeGreaterThan(500);
  });

  it("is reproducible from the seed, and combines with shared prefixes", () => {
    const both: WorkloadSpec = { ...spec, sharedPrefix: { ratio: 0.5, prefixes: 2, tokens: 16 } };
    const all = take(both, 6);
    expect(take(both, 6)).toStrictEqual(all);
    const ids = all.map((a) => a.prefix?.id.replace(/\d+$/, "N") ?? "none");
    expect(new Set(ids)).toEqual(new Set(["none", "shared-N", "#N"]));
    const repeatedShared = all.filter(
      (a) => a.prefix?.id.startsWith("#") && all[Number(a.prefix.id.slice(1))]!.prefix,
    );
    expect(repeatedShared.length).toBeGreaterThan(0);
  });

  it("rejects ratios outside [0, 1] and a prefix without a count, naming the fields", () => {
    expect(() =>
      take({ ...SMALL, repeatRatio: 1.5, sharedPrefix: { ratio: 1.5, prefixes: 0, tokens: 2.5 } }, 1),
    ).toThrow(
      /sharedPrefix\.ratio must be in \[0, 1\], got 1\.5; sharedPrefix\.prefixes must be an integer >= 1 when sharedPrefix\.ratio > 0, got 0; sharedPrefix\.tokens must be an integer >= 1, got 2\.5; repeatRatio must be in \[0, 1\], got 1\.5/,
    );
  });
});
