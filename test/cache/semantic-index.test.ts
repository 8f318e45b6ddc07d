import { describe, expect, it } from "vitest";
import { cosine, embed, type SparseVector } from "../../src/cache/embedding.js";
import { SemanticIndex } from "../../src/cache/semantic-index.js";

const FRANCE = embed("What is the capital of France?");
const PYTHON = embed("How do I reverse a list in Python?");
const VIM = embed("How do I exit vim?");
const PANCAKES = embed("How do I make pancakes from scratch?");

describe("SemanticIndex", () => {
  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    "rejects maxEntries %s with a RangeError",
    (max) => {
      expect(() => new SemanticIndex({ maxEntries: max })).toThrow(RangeError);
      expect(() => new SemanticIndex({ maxEntries: max })).toThrow(/maxEntries must be a positive integer/);
    },
  );

  it("finds nothing in an empty or unknown namespace", () => {
    const index = new SemanticIndex({ maxEntries: 4 });
    expect(index.nearest("m", FRANCE)).toBeUndefined();
    index.add("m", "france", FRANCE);
    expect(index.nearest("other", FRANCE)).toBeUndefined();
  });

  it("returns the most similar entry with its cosine similarity", () => {
    const index = new SemanticIndex({ maxEntries: 4 });
    index.add("m", "france", FRANCE);
    index.add("m", "python", PYTHON);
    index.add("m", "vim", VIM);
    const query = embed("what's the capital of france");
    expect(index.nearest("m", query)).toEqual({ key: "france", similarity: cosine(query, FRANCE) });
    expect(index.nearest("m", PYTHON)?.key).toBe("python");
    expect(index.nearest("m", PYTHON)?.similarity).toBeCloseTo(1, 6);
  });

  it("breaks a tie in favour of the entry added first", () => {
    const index = new SemanticIndex({ maxEntries: 4 });
    index.add("m", "first", VIM);
    index.add("m", "second", VIM);
    expect(index.nearest("m", VIM)?.key).toBe("first");
  });

  it("keeps namespaces apart: a closer entry in another namespace is never returned", () => {
    const index = new SemanticIndex({ maxEntries: 4 });
    index.add("model-a", "france", FRANCE);
    index.add("model-b", "python", PYTHON);
    expect(index.nearest("model-b", FRANCE)?.key).toBe("python");
    expect(index.nearest("model-a", PYTHON)?.key).toBe("france");
    expect(index.namespaceCount).toBe(2);
  });

  it("replaces an entry when its key is added again, in the same or another namespace", () => {
    const index = new SemanticIndex({ maxEntries: 4 });
    index.add("m", "k", FRANCE);
    index.add("m", "k", PYTHON);
    expect(index.size).toBe(1);
    expect(index.nearest("m", FRANCE)).toEqual({ key: "k", similarity: cosine(FRANCE, PYTHON) });

    index.add("n", "k", PYTHON);
    expect(index.size).toBe(1);
    expect(index.nearest("m", PYTHON)).toBeUndefined();
    expect(index.nearest("n", PYTHON)?.key).toBe("k");
    expect(index.namespaceCount).toBe(1);
  });

  it("deletes an entry, drops its namespace once empty, and ignores unknown keys", () => {
    const index = new SemanticIndex({ maxEntries: 4 });
    index.add("m", "france", FRANCE);
    index.add("m", "python", PYTHON);
    index.delete("france");
    expect(index.size).toBe(1);
    expect(index.nearest("m", FRANCE)?.key).toBe("python");
    index.delete("python");
    index.delete("never-added");
    expect(index.size).toBe(0);
    expect(index.namespaceCount).toBe(0);
    expect(index.nearest("m", FRANCE)).toBeUndefined();
  });

  it("evicts the least recently added entry when full", () => {
    const index = new SemanticIndex({ maxEntries: 2 });
    index.add("m", "france", FRANCE);
    index.add("m", "python", PYTHON);
    index.add("m", "vim", VIM);
    expect(index.size).toBe(2);
    expect(keysOf(index, "m", { france: FRANCE, python: PYTHON, vim: VIM })).toEqual(["python", "vim"]);
  });

  it("counts an entry returned by nearest as used, but not one merely scanned", () => {
    const index = new SemanticIndex({ maxEntries: 3 });
    index.add("m", "france", FRANCE);
    index.add("m", "python", PYTHON);
    index.add("m", "vim", VIM);
    // Scans run in insertion order (france, python, vim) whatever the recency. Returning france then python
    // leaves vim the least recently used; had scanning counted as use, france would be.
    expect(index.nearest("m", FRANCE)?.key).toBe("france");
    expect(index.nearest("m", PYTHON)?.key).toBe("python");
    index.add("m", "pancakes", PANCAKES);
    expect(keysOf(index, "m", { france: FRANCE, python: PYTHON, vim: VIM, pancakes: PANCAKES })).toEqual([
      "france",
      "python",
      "pancakes",
    ]);
  });

  it("evicts across namespaces in LRU order and forgets namespaces left empty", () => {
    const index = new SemanticIndex({ maxEntries: 2 });
    index.add("a", "france", FRANCE);
    index.add("b", "python", PYTHON);
    index.add("c", "vim", VIM);
    expect(index.nearest("a", FRANCE)).toBeUndefined();
    expect(index.nearest("b", PYTHON)?.key).toBe("python");
    expect(index.nearest("c", VIM)?.key).toBe("vim");
    expect(index.namespaceCount).toBe(2);
  });

  it("never holds more than maxEntries entries or namespaces", () => {
    const index = new SemanticIndex({ maxEntries: 5 });
    for (let i = 0; i < 50; i++) {
      index.add(`ns${i % 7}`, `k${i % 13}`, embed(`question number ${i}`));
      expect(index.size).toBeLessThanOrEqual(5);
      expect(index.namespaceCount).toBeLessThanOrEqual(index.size);
    }
    expect(index.size).toBe(5);
  });
});

/** Which of the named vectors are still held in a namespace: each looked up must come back as itself. */
function keysOf(
  index: SemanticIndex,
  namespace: string,
  vectors: Readonly<Record<string, SparseVector>>,
): string[] {
  return Object.entries(vectors)
    .filter(([key, vector]) => {
      const match = index.nearest(namespace, vector);
      return match?.key === key && match.similarity > 1 - 1e-6;
    })
    .map(([key]) => key);
}
