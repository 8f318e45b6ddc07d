import { describe, expect, it } from "vitest";
import { MinHeap } from "../../src/core/heap.js";
import { SeededRandom } from "../../src/core/random.js";

describe("MinHeap", () => {
  it("pops in ascending order for any insertion order", () => {
    const random = new SeededRandom(7);
    const values = Array.from({ length: 500 }, () => Math.floor(random.next() * 1000));
    const heap = new MinHeap<number>((a, b) => a < b);
    for (const v of values) heap.push(v);
    expect(heap.size).toBe(500);
    const out: number[] = [];
    while (heap.size > 0) out.push(heap.pop()!);
    expect(out).toEqual([...values].sort((a, b) => a - b));
    expect(heap.pop()).toBeUndefined();
  });

  it("retains a subset and still pops it in order", () => {
    const random = new SeededRandom(8);
    const values = Array.from({ length: 300 }, () => Math.floor(random.next() * 1000));
    const heap = new MinHeap<number>((a, b) => a < b);
    for (const v of values) heap.push(v);
    heap.retain((v) => v % 3 !== 0);
    const out: number[] = [];
    while (heap.size > 0) out.push(heap.pop()!);
    expect(out).toEqual(values.filter((v) => v % 3 !== 0).sort((a, b) => a - b));
  });

  it("peeks without removing", () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    heap.push(3);
    heap.push(1);
    expect(heap.peek()).toBe(1);
    expect(heap.size).toBe(2);
  });
});
