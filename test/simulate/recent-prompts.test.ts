import { describe, expect, it } from "vitest";
import { REPEAT_POOL_SIZE, REPEAT_POOL_TOKENS, RecentPrompts } from "../../src/simulate/recent-prompts.js";

describe("RecentPrompts", () => {
  it("holds the last REPEAT_POOL_SIZE prompts, oldest evicted first, found by index", () => {
    const pool = new RecentPrompts<string>();
    expect(pool.pick(0.5)).toBeUndefined();
    for (let i = 0; i < REPEAT_POOL_SIZE + 5; i++) pool.add(i * 2, [i, i + 1], `r${i}`);
    expect(pool.size).toBe(REPEAT_POOL_SIZE);
    expect(pool.get(8)).toBeUndefined();
    expect(pool.get(10)).toMatchObject({ index: 10, ids: Uint32Array.from([5, 6]), data: "r5" });
    expect(pool.pick(0)!.index).toBe(10);
    expect(pool.pick(0.999_999)!.index).toBe((REPEAT_POOL_SIZE + 4) * 2);
  });

  it("holds at most REPEAT_POOL_TOKENS tokens, though always the newest prompt", () => {
    const pool = new RecentPrompts<undefined>();
    const big = new Array<number>(REPEAT_POOL_TOKENS / 2).fill(7);
    pool.add(0, [1], undefined);
    pool.add(1, big, undefined);
    pool.add(2, big, undefined);
    // 2^23 + 1 tokens: the oldest goes.
    expect([pool.size, pool.get(0)]).toEqual([2, undefined]);
    pool.add(3, new Array<number>(REPEAT_POOL_TOKENS + 1).fill(1), undefined);
    expect(pool.size).toBe(1);
    expect(pool.get(3)!.ids.length).toBe(REPEAT_POOL_TOKENS + 1);
  });
});
