import { describe, expect, it } from "vitest";
import { hashString, SeededRandom } from "../../src/core/random.js";

describe("SeededRandom", () => {
  it("is reproducible from its seed and differs between seeds", () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
  });

  it("is roughly uniform in [0, 1)", () => {
    const r = new SeededRandom("uniform");
    const bins = new Array(10).fill(0);
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const v = r.next();
      if (v < 0 || v >= 1) outside++;
      else bins[Math.floor(v * 10)]++;
    }
    expect(outside).toBe(0);
    for (const count of bins) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it("draws log-normal samples around the median", () => {
    const r = new SeededRandom(1);
    const samples = Array.from({ length: 20_001 }, () => r.logNormal(200, 0.8)).sort((x, y) => x - y);
    const median = samples[10_000]!;
    expect(median).toBeGreaterThan(190);
    expect(median).toBeLessThan(210);
  });

  it("hashes strings stably (FNV-1a reference values)", () => {
    expect(hashString("")).toBe(0x811c9dc5);
    expect(hashString("a")).toBe(0xe40c292c);
  });
});
