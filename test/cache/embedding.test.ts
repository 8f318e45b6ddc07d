import { describe, expect, it } from "vitest";
import { cosine, EMBEDDING_DEFAULTS, embed, type SparseVector } from "../../src/cache/embedding.js";

const QUESTIONS = [
  "What is the capital of France?",
  "How do I reverse a list in Python?",
  "Explain quantum entanglement in simple terms",
  "Écris un poème sur l'automne, s'il te plaît",
  "東京の人口は何人ですか",
  "a",
  "x".repeat(10_000),
];

function norm(vector: SparseVector): number {
  return Math.sqrt(vector.values.reduce((sum, value) => sum + value * value, 0));
}

function expectWellFormed(vector: SparseVector, dimensions: number): void {
  expect(vector.values.length).toBe(vector.indices.length);
  for (let i = 0; i < vector.indices.length; i++) {
    expect(vector.indices[i]).toBeLessThan(dimensions);
    if (i > 0) expect(vector.indices[i]).toBeGreaterThan(vector.indices[i - 1]!);
    expect(vector.values[i]).not.toBe(0);
  }
  if (vector.indices.length > 0) expect(norm(vector)).toBeCloseTo(1, 6);
}

describe("embed", () => {
  it.each([
    { ngram: 3, dimensions: 4096 },
    { ngram: 1, dimensions: 7 },
    { ngram: 5, dimensions: 1 },
    { ngram: 2, dimensions: 2 ** 20 },
  ])(
    "builds unit vectors with strictly increasing indices below dimensions ($ngram, $dimensions)",
    (options) => {
      for (const text of QUESTIONS) expectWellFormed(embed(text, options), options.dimensions);
    },
  );

  it.each(["", "   ", "?!... ---", "\u00a0\t\n"])(
    "gives the empty vector for text with no letter or digit: %j",
    (text) => {
      const vector = embed(text);
      expect(vector.indices).toHaveLength(0);
      expect(vector.values).toHaveLength(0);
      expect(cosine(vector, embed("hello"))).toBe(0);
      expect(cosine(vector, vector)).toBe(0);
    },
  );

  it("ignores case, punctuation, whitespace runs and compatibility forms (NFKC)", () => {
    const base = embed("what is the capital of france");
    for (const variant of [
      "What is the capital of France?",
      "  WHAT   is the capital, of FRANCE!!! ",
      "what-is_the/capital\tof\nfrance",
      "ｗｈａｔ ｉｓ ｔｈｅ ｃａｐｉｔａｌ ｏｆ ｆｒａｎｃｅ", // full-width forms fold to ASCII under NFKC
    ]) {
      const vector = embed(variant);
      expect(vector.indices).toEqual(base.indices);
      expect(vector.values).toEqual(base.values);
    }
  });

  it("is deterministic, and its hash is pinned so that stored vectors stay comparable across versions", () => {
    expect(embed(QUESTIONS[1]!)).toEqual(embed(QUESTIONS[1]!));
    // " a " is the only trigram of "a"; this bucket is FNV-1a + fmix32 of it mod 4096. Changing the hash
    // silently makes every vector persisted by an older version useless, so it must be a deliberate change.
    const a = embed("a");
    expect([...a.indices]).toEqual([1284]);
    expect(Math.abs(a.values[0]!)).toBe(1);
  });

  it("weights term frequency sublinearly, 1 + ln tf", () => {
    // " aab " as unigrams: " " twice, "a" twice, "b" once (three buckets when nothing collides).
    const vector = embed("aab", { ngram: 1 });
    expect(vector.indices).toHaveLength(3);
    const magnitudes = [...vector.values].map(Math.abs).sort((x, y) => x - y);
    const w = 1 + Math.log(2);
    const n = Math.sqrt(1 + 2 * w * w);
    expect(magnitudes[0]).toBeCloseTo(1 / n, 6);
    expect(magnitudes[1]).toBeCloseTo(w / n, 6);
    expect(magnitudes[2]).toBeCloseTo(w / n, 6);
  });

  it("counts code points, not UTF-16 units: a character outside the BMP is one character", () => {
    // U+20000 is a CJK letter stored as a surrogate pair; padded it is 3 characters, 4 code units.
    expect(embed("\u{20000}", { ngram: 3 }).indices).toHaveLength(1);
    expect(embed("\u{20000}", { ngram: 2 }).indices).toHaveLength(2);
  });

  it("respects ngram: unigrams are a bag of characters, trigrams see order", () => {
    expect(cosine(embed("listen", { ngram: 1 }), embed("silent", { ngram: 1 }))).toBeCloseTo(1, 6);
    expect(cosine(embed("listen"), embed("silent"))).toBeLessThan(0.3);
    // A normalised text shorter than n is one n-gram of itself.
    expect(embed("ab", { ngram: 10 }).indices).toHaveLength(1);
    expect(embed("ab", { ngram: 10 })).not.toEqual(embed("ba", { ngram: 10 }));
  });

  it("respects dimensions, and uses the defaults when none are given", () => {
    expect(embed(QUESTIONS[2]!)).toEqual(embed(QUESTIONS[2]!, { ...EMBEDDING_DEFAULTS }));
    for (const dimensions of [1, 10, 100]) {
      const vector = embed(QUESTIONS[2]!, { dimensions });
      expect(Math.max(...vector.indices)).toBeLessThan(dimensions);
    }
    // One bucket: every n-gram collides, so the vector is a single ±1 or, when the signs cancel, empty.
    const one = embed(QUESTIONS[0]!, { dimensions: 1 });
    expect(one.indices.length).toBeLessThanOrEqual(1);
    if (one.indices.length === 1) expect(Math.abs(one.values[0]!)).toBeCloseTo(1, 6);
  });

  it("gives the sign from a hash that is balanced, so collisions cancel in expectation", () => {
    const text = Array.from({ length: 400 }, (_, i) => `word${i}`).join(" ");
    const vector = embed(text, { dimensions: 2 ** 24 });
    const positive = vector.values.filter((value) => value > 0).length;
    expect(vector.values.length).toBeGreaterThan(500);
    expect(positive / vector.values.length).toBeGreaterThan(0.4);
    expect(positive / vector.values.length).toBeLessThan(0.6);
  });

  it.each([
    [{ ngram: 0 }, /ngram must be a positive integer, got 0/],
    [{ ngram: 2.5 }, /ngram/],
    [{ dimensions: 0 }, /dimensions must be an integer in \[1, 2\^32\], got 0/],
    [{ dimensions: Number.NaN }, /dimensions/],
    [{ dimensions: 2 ** 32 + 1 }, /dimensions/],
  ])("rejects %j with a RangeError naming the field", (options, message) => {
    expect(() => embed("hello", options)).toThrow(RangeError);
    expect(() => embed("hello", options)).toThrow(message);
  });
});

describe("cosine", () => {
  it.each(QUESTIONS)("is 1 for identical text: %s", (text) => {
    expect(cosine(embed(text), embed(text))).toBeCloseTo(1, 6);
  });

  it("scores unrelated questions low", () => {
    const pairs: [string, string][] = [
      ["What is the capital of France?", "How do I center a div in CSS?"],
      ["Write a haiku about autumn", "How many calories are in a banana?"],
      ["How do I exit vim?", "Who won the 2018 World Cup?"],
    ];
    for (const [a, b] of pairs) expect(Math.abs(cosine(embed(a), embed(b)))).toBeLessThan(0.2);
  });

  it("scores a paraphrase above an unrelated question", () => {
    const cases: [string, string, string][] = [
      [
        "How do I make pancakes from scratch?",
        "how do i make pancakes from scrach",
        "Who won the World Cup?",
      ],
      ["What is the capital of France?", "what's the capital of france", "How do I exit vim?"],
      ["Tell me a joke about programmers", "tell me a programmer joke", "What are the symptoms of the flu?"],
    ];
    for (const [question, paraphrase, unrelated] of cases) {
      const q = embed(question);
      expect(cosine(q, embed(paraphrase))).toBeGreaterThan(0.75);
      expect(cosine(q, embed(paraphrase))).toBeGreaterThan(cosine(q, embed(unrelated)) + 0.5);
    }
  });

  it("is symmetric and stays within [-1, 1]", () => {
    for (const a of QUESTIONS) {
      for (const b of QUESTIONS) {
        const ab = cosine(embed(a), embed(b));
        expect(ab).toBe(cosine(embed(b), embed(a)));
        expect(Math.abs(ab)).toBeLessThanOrEqual(1);
      }
    }
  });

  it("merges indices: only shared buckets contribute", () => {
    const a: SparseVector = { indices: Uint32Array.of(1, 5), values: Float32Array.of(0.6, 0.8) };
    const b: SparseVector = { indices: Uint32Array.of(2, 5), values: Float32Array.of(0.6, 0.8) };
    expect(cosine(a, b)).toBeCloseTo(0.64, 6);
    expect(cosine(a, { indices: Uint32Array.of(0, 2, 4), values: Float32Array.of(0.6, 0.6, 0.52915) })).toBe(
      0,
    );
  });
});
