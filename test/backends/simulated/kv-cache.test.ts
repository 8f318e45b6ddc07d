import { describe, expect, it } from "vitest";
import {
  type BlockHash,
  chainBlockHash,
  emptyBlockTable,
  KvCache,
} from "../../../src/backends/simulated/kv-cache.js";

const BLOCK = 4;

function hashes(tokens: readonly number[]): BlockHash[] {
  const out: BlockHash[] = [];
  for (let i = 0; (i + 1) * BLOCK <= tokens.length; i++) {
    out.push(chainBlockHash(out[i - 1], tokens, i * BLOCK, (i + 1) * BLOCK));
  }
  return out;
}

function cache(totalBlocks: number, prefixCaching = true): KvCache {
  return new KvCache({ totalBlocks, blockSize: BLOCK, prefixCaching });
}

describe("KvCache allocation", () => {
  it("admits, grows at block boundaries and releases", () => {
    const kv = cache(4);
    const table = emptyBlockTable();
    expect(kv.admit(table, [], 5)).toBe(true); // 5 tokens -> 2 blocks
    expect(kv.usedBlocks).toBe(2);
    expect(kv.grow(table, 8)).toBe(true); // still 2 blocks
    expect(kv.usedBlocks).toBe(2);
    expect(kv.grow(table, 9)).toBe(true); // a third block at the boundary
    expect(kv.usedBlocks).toBe(3);
    expect(kv.grow(table, 17)).toBe(false); // needs 5 of 4
    expect(kv.usedBlocks).toBe(3);
    kv.release(table);
    expect(kv.usedBlocks).toBe(0);
    expect(table.blocks).toEqual([]);
  });

  it("refuses an admission that does not fit without allocating anything", () => {
    const kv = cache(2);
    const table = emptyBlockTable();
    expect(kv.admit(table, [], 9)).toBe(false);
    expect(kv.usedBlocks).toBe(0);
  });
});

describe("KvCache prefix caching", () => {
  const prompt = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

  it("finds the chain of full blocks a finished sequence left behind", () => {
    const kv = cache(8);
    const first = emptyBlockTable();
    kv.admit(first, [], prompt.length);
    kv.commit(first, prompt.length, (i) => hashes(prompt)[i] as BlockHash);
    kv.release(first);
    expect(kv.usedBlocks).toBe(0); // cached blocks are free (evictable)...
    const hits = kv.lookup(hashes(prompt)); // ...but still findable
    expect(hits).toHaveLength(2);
    const second = emptyBlockTable();
    expect(kv.admit(second, hits, prompt.length)).toBe(true);
    expect(second.blocks.slice(0, 2)).toEqual(hits);
    expect(kv.usedBlocks).toBe(3);
  });

  it("chains hashes: the same block after a different prefix does not match", () => {
    const other = [9, 9, 9, 9, 5, 6, 7, 8];
    expect(hashes(other)[1]).not.toBe(hashes(prompt)[1]);
    expect(hashes(prompt.slice(0, 8))).toEqual(hashes(prompt).slice(0, 2));
  });

  it("evicts the least recently freed cached block first, a sequence's tail before its head", () => {
    const kv = cache(3);
    const a = emptyBlockTable();
    kv.admit(a, [], 8);
    kv.commit(a, 8, (i) => hashes(prompt)[i] as BlockHash);
    kv.release(a); // frees block 1 (tail) then block 0 (head)
    const b = emptyBlockTable();
    kv.admit(b, [], 8); // takes the never-used block and the tail block
    expect(kv.lookup(hashes(prompt))).toHaveLength(1);
    const c = emptyBlockTable();
    kv.admit(c, [], 4); // takes the head block too
    expect(kv.lookup(hashes(prompt))).toHaveLength(0);
  });

  it("does not count referenced hit blocks twice, nor hand out hit blocks as fresh ones", () => {
    const kv = cache(3);
    const a = emptyBlockTable();
    kv.admit(a, [], 8);
    kv.commit(a, 8, (i) => hashes(prompt)[i] as BlockHash);
    kv.release(a);
    // 2 cached blocks + 1 never used; a request hitting both needs 1 fresh block for 9..12 tokens.
    const hits = kv.lookup(hashes(prompt));
    const b = emptyBlockTable();
    expect(kv.admit(b, hits, 13)).toBe(false); // would need 2 fresh, only 1 block is not a hit
    expect(kv.admit(b, hits, 12)).toBe(true);
    expect(new Set(b.blocks).size).toBe(3);
  });

  it("keeps the first block for a hash when two sequences compute the same prefix", () => {
    const kv = cache(4);
    const a = emptyBlockTable();
    const b = emptyBlockTable();
    kv.admit(a, [], 4);
    kv.admit(b, [], 4);
    kv.commit(a, 4, () => 7);
    kv.commit(b, 4, () => 7);
    expect(kv.lookup([7])).toEqual(a.blocks);
  });

  it("looks nothing up when disabled, and reset forgets everything", () => {
    const off = cache(4, false);
    const t = emptyBlockTable();
    off.admit(t, [], 4);
    off.commit(t, 4, () => 11);
    expect(off.lookup([11])).toEqual([]);

    const on = cache(4);
    const u = emptyBlockTable();
    on.admit(u, [], 4);
    on.commit(u, 4, () => 11);
    on.reset();
    expect(on.usedBlocks).toBe(0);
    expect(on.lookup([11])).toEqual([]);
  });
});
