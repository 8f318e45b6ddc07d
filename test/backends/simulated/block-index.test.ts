import { describe, expect, it } from "vitest";
import { BlockIndex } from "../../../src/backends/simulated/block-index.js";
import { chainBlockHash } from "../../../src/backends/simulated/kv-cache.js";
import { SeededRandom } from "../../../src/core/random.js";

describe("BlockIndex", () => {
  it("agrees with a Map over a long random mix of sets, deletes and lookups", () => {
    const capacity = 500;
    const index = new BlockIndex(capacity);
    const reference = new Map<number, number>();
    const random = new SeededRandom(9);
    // Few distinct keys relative to the table, so probe runs collide, wrap and get shifted back on delete.
    const keys = Array.from({ length: 700 }, (_, i) => chainBlockHash(undefined, [i, i * 31], 0, 2));
    for (let op = 0; op < 50_000; op++) {
      const key = keys[Math.floor(random.next() * keys.length)] as number;
      const roll = random.next();
      if (roll < 0.45 && (reference.size < capacity || reference.has(key))) {
        const block = Math.floor(random.next() * 1e6);
        index.set(key, block);
        reference.set(key, block);
      } else if (roll < 0.8) {
        expect(index.delete(key)).toBe(reference.delete(key));
      } else {
        expect(index.get(key)).toBe(reference.get(key));
      }
      expect(index.size).toBe(reference.size);
    }
    for (const key of keys) expect(index.get(key)).toBe(reference.get(key));
  });

  it("keeps 53-bit keys apart that share their low 32 bits", () => {
    const index = new BlockIndex(4);
    index.set(2 ** 40 + 5, 1);
    index.set(5, 2);
    expect(index.get(2 ** 40 + 5)).toBe(1);
    expect(index.get(5)).toBe(2);
    expect(index.has(2 ** 41 + 5)).toBe(false);
  });

  it("refuses more entries than it was sized for, and forgets everything on clear", () => {
    const index = new BlockIndex(2);
    index.set(1, 1);
    index.set(2, 2);
    index.set(2, 3); // a replacement, not a new entry
    expect(() => index.set(3, 3)).toThrow(/more than 2 entries/);
    index.clear();
    expect(index.size).toBe(0);
    expect(index.get(1)).toBeUndefined();
  });
});
