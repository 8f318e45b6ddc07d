import { describe, expect, it } from "vitest";
import { FreeList } from "../../../src/backends/simulated/free-list.js";

describe("FreeList", () => {
  it("hands out blocks least recently freed first", () => {
    const list = new FreeList(8);
    for (const b of [3, 1, 4]) list.push(b);
    expect(list.size).toBe(3);
    expect([list.shift(), list.shift(), list.shift(), list.shift()]).toEqual([3, 1, 4, -1]);
    expect(list.size).toBe(0);
  });

  it("removes from the middle, head and tail, and ignores duplicates", () => {
    const list = new FreeList(8);
    for (const b of [0, 1, 2, 3, 4]) list.push(b);
    list.push(2);
    list.delete(2);
    list.delete(0);
    list.delete(4);
    list.delete(7);
    expect(list.has(1)).toBe(true);
    expect(list.has(2)).toBe(false);
    expect(list.size).toBe(2);
    list.push(0);
    expect([list.shift(), list.shift(), list.shift()]).toEqual([1, 3, 0]);
  });

  it("clears", () => {
    const list = new FreeList(4);
    list.push(1);
    list.clear();
    expect(list.size).toBe(0);
    expect(list.shift()).toBe(-1);
    list.push(2);
    expect(list.shift()).toBe(2);
  });
});
