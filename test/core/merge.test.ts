import { describe, expect, it } from "vitest";
import { mergeIndexed } from "../../src/core/merge.js";

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) {
    await Promise.resolve();
    yield item;
  }
}

function boom(): never {
  throw new Error("boom");
}

describe("mergeIndexed", () => {
  it("yields every item of every source tagged with its index", async () => {
    const out: string[] = [];
    for await (const { index, item } of mergeIndexed([
      from(["a", "b"]),
      from(["c"]),
      from(["d", "e", "f"]),
    ])) {
      out.push(`${index}:${item}`);
    }
    expect(out.sort()).toEqual(["0:a", "0:b", "1:c", "2:d", "2:e", "2:f"]);
  });

  it("propagates a source's error and closes the other sources", async () => {
    let closed = false;
    async function* endless(): AsyncGenerator<number> {
      try {
        for (;;) {
          await Promise.resolve();
          yield 1;
        }
      } finally {
        closed = true;
      }
    }
    async function* failing(): AsyncGenerator<number> {
      await Promise.resolve();
      yield boom();
    }
    await expect(async () => {
      for await (const _ of mergeIndexed([endless(), failing()])) {
        // drain
      }
    }).rejects.toThrow("boom");
    expect(closed).toBe(true);
  });
});
