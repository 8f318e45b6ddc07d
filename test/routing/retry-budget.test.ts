import { describe, expect, it } from "vitest";
import { RetryBudget, SlidingCounts } from "../../src/routing/retry-budget.js";

const options = { ratio: 0.2, minPerSecond: 10, windowMs: 10_000 };

describe("RetryBudget", () => {
  it("allows about ratio x traffic at 100 requests/s: ~20 retries/s over the window", () => {
    const budget = new RetryBudget(options);
    const granted: number[] = []; // retries granted per second
    for (let second = 0; second < 60; second++) {
      let count = 0;
      for (let i = 0; i < 100; i++) {
        const nowMs = second * 1000 + i * 10;
        budget.onRequest(nowMs);
        // Every request fails and wants a retry: the budget alone decides.
        if (budget.tryRetry(nowMs)) count++;
      }
      granted.push(count);
    }
    // Once the window is full (after 10 s), any 10 s span holds at most 0.2 x 1,000 requests = 200 retries.
    for (let end = 10; end <= 60; end++) {
      const inWindow = granted.slice(end - 10, end).reduce((a, b) => a + b, 0);
      expect(inWindow).toBeLessThanOrEqual(200);
    }
    const steady = granted.slice(20).reduce((a, b) => a + b, 0) / 40;
    expect(steady).toBeGreaterThan(18);
    expect(steady).toBeLessThanOrEqual(20);
    const snap = budget.snapshot(59_990);
    expect(snap.requests).toBe(1_000);
    expect(snap.allowed).toBe(200);
    expect(snap.retries).toBeLessThanOrEqual(200);
  });

  it("caps a full outage: retries of retries draw on the same budget", () => {
    const budget = new RetryBudget(options);
    const maxAttempts = 3;
    let requests = 0;
    let retries = 0;
    for (let t = 0; t < 60_000; t += 10) {
      budget.onRequest(t);
      requests++;
      // Every attempt fails; keep retrying until maxAttempts or the budget says no.
      for (let attempt = 1; attempt < maxAttempts && budget.tryRetry(t); attempt++) retries++;
    }
    // Without a budget this outage would send 2 retries per request (3x load); with it, about 20% extra.
    expect(retries / requests).toBeLessThan(0.25);
    expect(retries / requests).toBeGreaterThan(0.15);
  });

  it("lets very low traffic retry through the floor", () => {
    const budget = new RetryBudget(options);
    // One request every 2 s: ratio alone would allow 0.2 x 5 = 1 retry per window.
    let granted = 0;
    for (let t = 0; t < 60_000; t += 2_000) {
      budget.onRequest(t);
      if (budget.tryRetry(t)) granted++;
    }
    expect(granted).toBe(30);
  });

  it("caps a burst at the floor (minPerSecond x window seconds) when traffic is low", () => {
    const budget = new RetryBudget(options);
    budget.onRequest(0);
    let granted = 0;
    for (let i = 0; i < 500; i++) if (budget.tryRetry(i)) granted++;
    expect(granted).toBe(100);
    expect(budget.snapshot(500)).toEqual({ requests: 1, retries: 100, allowed: 100 });
  });

  it("expires old buckets after the window", () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 1, windowMs: 5_000 });
    budget.onRequest(0);
    for (let i = 0; i < 5; i++) expect(budget.tryRetry(100)).toBe(true);
    expect(budget.tryRetry(100)).toBe(false);
    // Still inside the window (seconds 0..4 at 4.9 s).
    expect(budget.tryRetry(4_900)).toBe(false);
    // Second 0 has left the window at 5 s.
    expect(budget.snapshot(5_000)).toEqual({ requests: 0, retries: 0, allowed: 5 });
    expect(budget.tryRetry(5_000)).toBe(true);
    // Long idle gaps (many laps of the ring) leave nothing behind.
    expect(budget.snapshot(1_000_000)).toEqual({ requests: 0, retries: 0, allowed: 5 });
  });

  it("allows no retries with ratio 0 and no floor", () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0, windowMs: 1_000 });
    budget.onRequest(0);
    expect(budget.tryRetry(0)).toBe(false);
  });

  it.each([
    [{ ...options, ratio: -0.1 }, /ratio must be a finite number >= 0, got -0.1/],
    [{ ...options, ratio: Number.NaN }, /ratio must be a finite number >= 0, got NaN/],
    [{ ...options, minPerSecond: -1 }, /minPerSecond must be a finite number >= 0, got -1/],
    [{ ...options, windowMs: 500 }, /windowMs must be a whole number of seconds >= 1000, got 500/],
    [{ ...options, windowMs: 1_500 }, /windowMs must be a whole number of seconds >= 1000, got 1500/],
  ])("rejects %o", (bad, message) => {
    expect(() => new RetryBudget(bad)).toThrow(message);
  });
});

describe("SlidingCounts", () => {
  it("sums the current second and the windowSeconds - 1 before it", () => {
    const counts = new SlidingCounts(["a", "b"], 3);
    counts.add(0, "a");
    counts.add(1_000, "a", 2);
    counts.add(2_500, "b");
    expect(counts.totals(2_999)).toEqual({ a: 3, b: 1 });
    expect(counts.totals(3_000)).toEqual({ a: 2, b: 1 });
    expect(counts.totals(5_000)).toEqual({ a: 0, b: 0 });
  });

  it("reuses a slot for a new lap of the ring without carrying old counts", () => {
    const counts = new SlidingCounts(["a", "b"], 2);
    counts.add(0, "a", 5);
    counts.add(0, "b", 5);
    counts.add(2_000, "a"); // same slot as second 0
    expect(counts.totals(2_000)).toEqual({ a: 1, b: 0 });
  });

  it("counts a late (out-of-order) event in the latest second", () => {
    const counts = new SlidingCounts(["a"], 2);
    counts.add(5_000, "a");
    counts.add(1_000, "a");
    expect(counts.totals(5_000)).toEqual({ a: 2 });
  });

  it("handles negative times", () => {
    const counts = new SlidingCounts(["a"], 3);
    counts.add(-1_500, "a");
    expect(counts.totals(-1_000)).toEqual({ a: 1 });
  });

  it("forgets everything on clear()", () => {
    const counts = new SlidingCounts(["a"], 3);
    counts.add(0, "a");
    counts.clear();
    expect(counts.totals(0)).toEqual({ a: 0 });
  });

  it("rejects a window that is not a whole number of seconds", () => {
    expect(() => new SlidingCounts(["a"], 0)).toThrow(/windowSeconds must be an integer >= 1, got 0/);
  });
});
