import { describe, expect, it } from "vitest";
import { type CachedGeneration, decodeEntry, encodeEntry, eventTokens } from "../../src/cache/entry.js";

const entry: CachedGeneration = {
  v: 1,
  createdEpochMs: 1_700_000_000_000,
  model: "m",
  deployment: "d",
  replicaId: "d/0",
  finishReason: "stop",
  usage: { promptTokens: 9, completionTokens: 3, cachedPromptTokens: 0 },
  gpuSeconds: 0.03,
  costUsd: 0.00003,
  ttftMs: 20,
  texts: ["Hello", " there", " friend"],
  offsetsMs: [0, 5, 10],
};

describe("cache entries", () => {
  it("round-trip through their encoding", () => {
    expect(decodeEntry(encodeEntry(entry))).toEqual(entry);
    expect(eventTokens(entry, 1)).toBe(1);
    expect(eventTokens({ ...entry, tokens: [1, 2, 1] }, 1)).toBe(2);
  });

  it("decode corrupt, foreign or inconsistent bytes as a miss (undefined), never a throw", () => {
    expect(decodeEntry(Buffer.from("not json"))).toBeUndefined();
    expect(decodeEntry(Buffer.from(JSON.stringify({ ...entry, v: 2 })))).toBeUndefined();
    expect(decodeEntry(Buffer.from(JSON.stringify({ ...entry, offsetsMs: [0] })))).toBeUndefined();
    expect(decodeEntry(Buffer.from(JSON.stringify({ ...entry, finishReason: "error" })))).toBeUndefined();
  });
});
