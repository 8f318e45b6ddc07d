import * as cl100k from "gpt-tokenizer/encoding/cl100k_base";
import { describe, expect, it } from "vitest";
import { CompletionWriter, StopMatcher } from "../../../src/backends/simulated/completion.js";
import {
  sampleOutputLength,
  TextGenerator,
  textSeed,
  vocabularyPieces,
} from "../../../src/backends/simulated/text.js";
import { SeededRandom } from "../../../src/core/random.js";

function generate(seed: number, count: number): { text: string; ids: number[] } {
  const generator = new TextGenerator(new SeededRandom(seed));
  let text = "";
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const piece = generator.next();
    text += piece.text;
    ids.push(piece.id);
  }
  return { text, ids };
}

describe("pseudo-text", () => {
  it("uses only pieces that are exactly one cl100k token, with their real ids", () => {
    for (const piece of vocabularyPieces()) {
      const ids = cl100k.encode(piece);
      expect(ids, JSON.stringify(piece)).toHaveLength(1);
    }
  });

  it("re-tokenises a long generation to the number of tokens generated", () => {
    for (const seed of [1, 2, 3]) {
      const { text, ids } = generate(seed, 3000);
      const encoded = cl100k.encode(text);
      expect(Math.abs(encoded.length - ids.length) / ids.length).toBeLessThanOrEqual(0.01);
      expect(encoded.length).toBe(ids.length);
      expect(encoded).toEqual(ids);
    }
  });

  it("reads as sentences", () => {
    const { text } = generate(7, 40);
    expect(text).toMatch(/^(The|This|Each|Every|Our|One) [a-z]/);
    expect(text).toContain(". ");
  });

  it("is a pure function of the seed", () => {
    expect(generate(11, 200)).toEqual(generate(11, 200));
    expect(generate(11, 200).text).not.toBe(generate(12, 200).text);
  });
});

describe("text seed", () => {
  const base = { promptText: "hello", id: "req-1", temperature: 0 };
  it.each([
    ["greedy requests with the same prompt agree", base, { ...base, id: "req-2" }, true],
    ["different prompts differ", base, { ...base, promptText: "bye" }, false],
    [
      "sampled requests differ by id",
      { ...base, temperature: 1 },
      { ...base, temperature: 1, id: "req-2" },
      false,
    ],
    [
      "an explicit seed wins over the id",
      { ...base, temperature: 1, seed: 5 },
      { ...base, id: "x", temperature: 1, seed: 5 },
      true,
    ],
    ["different explicit seeds differ", { ...base, seed: 5 }, { ...base, seed: 6 }, false],
  ])("%s", (_name, a, b, same) => {
    expect(textSeed(a) === textSeed(b)).toBe(same);
  });
});

describe("output length", () => {
  it("is log-normal around the median and at least 1", () => {
    const random = new SeededRandom(3);
    const lengths = Array.from({ length: 4001 }, () =>
      sampleOutputLength(random, { lengthMedian: 200, lengthSigma: 1 }),
    ).sort((a, b) => a - b);
    const median = lengths[2000] as number;
    expect(median).toBeGreaterThan(180);
    expect(median).toBeLessThan(220);
    expect(lengths[0]).toBeGreaterThanOrEqual(1);
    expect(
      sampleOutputLength(new SeededRandom(1), { lengthMedian: 1, lengthSigma: 5 }),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe("StopMatcher", () => {
  // pieces pushed, stop strings -> emitted per push, stopped on which push (-1: never), text flushed at the end
  it.each([
    ["no stops passes text through", [" a", " b"], [], [" a", " b"], -1, ""],
    ["cuts at a stop inside one piece", [" ab", "cd"], ["b"], [" a"], 0, ""],
    ["holds a partial match, then releases it", [" x", " y", " z"], [" yq"], [" x", "", " y z"], -1, ""],
    ["holds a partial match, then stops on the rest", [" the", " end", "."], ["the end"], [" ", ""], 1, ""],
    ["flushes held text at the end", [" one", " tw"], [" two"], [" one", ""], -1, " tw"],
    ["picks the earliest of several stops", [" alpha beta gamma"], ["gamma", "beta"], [" alpha "], 0, ""],
  ])("%s", (_name, pieces, stops, emitted, stopAt, flushed) => {
    const matcher = new StopMatcher(stops);
    const out: string[] = [];
    let stoppedAt = -1;
    for (const [i, piece] of pieces.entries()) {
      const { emit, stopped } = matcher.push(piece);
      out.push(emit);
      if (stopped) {
        stoppedAt = i;
        break;
      }
    }
    expect(stoppedAt).toBe(stopAt);
    expect(out).toEqual(emitted);
    expect(matcher.flush()).toBe(flushed);
  });
});

describe("CompletionWriter", () => {
  const request = { promptText: "p", id: "r", temperature: 0, stop: [] as string[] };

  it("ends with finish_reason length when the natural length reaches maxTokens", () => {
    const writer = new CompletionWriter({ ...request, maxTokens: 5 }, { lengthMedian: 1000, lengthSigma: 0 });
    const steps = Array.from({ length: 5 }, () => writer.next());
    expect(steps.map((s) => s.finish)).toEqual([undefined, undefined, undefined, undefined, "length"]);
  });

  it("ends with stop at the natural length", () => {
    const writer = new CompletionWriter({ ...request, maxTokens: 100 }, { lengthMedian: 3, lengthSigma: 0 });
    expect([writer.next(), writer.next(), writer.next()].map((s) => s.finish)).toEqual([
      undefined,
      undefined,
      "stop",
    ]);
    expect(writer.sampled).toBe(3);
  });

  it("stops on a stop string, omits it, and counts the token that completed it", () => {
    const output = { lengthMedian: 1000, lengthSigma: 0 };
    const free = new CompletionWriter({ ...request, maxTokens: 60 }, output);
    let full = "";
    for (let i = 0; i < 60; i++) full += free.next().text;
    const stop = full.slice(full.indexOf(".") - 3, full.indexOf(".") + 1); // "xyz." ending the first sentence
    const writer = new CompletionWriter({ ...request, maxTokens: 60, stop: [stop] }, output);
    let text = "";
    let last: ReturnType<CompletionWriter["next"]> | undefined;
    while (last?.finish === undefined) {
      last = writer.next();
      text += last.text;
    }
    expect(last.finish).toBe("stop");
    expect(text).toBe(full.slice(0, full.indexOf(stop)));
    expect(writer.sampled).toBe(cl100k.encode(full.slice(0, full.indexOf(".") + 1)).length);
  });
});
