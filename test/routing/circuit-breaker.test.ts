import { describe, expect, it } from "vitest";
import {
  type BreakerSettings,
  type BreakerState,
  CircuitBreaker,
  DEFAULT_BREAKER_SETTINGS,
} from "../../src/routing/circuit-breaker.js";

const settings: BreakerSettings = {
  consecutiveFailures: 5,
  errorRate: 0.5,
  minRequests: 20,
  windowMs: 10_000,
  openMs: 5_000,
  maxOpenMs: 60_000,
  halfOpenProbes: 1,
};

function recording(overrides: Partial<BreakerSettings> = {}) {
  const log: Array<[BreakerState, BreakerState, number]> = [];
  const breaker = new CircuitBreaker(
    { ...settings, ...overrides },
    { onTransition: (from, to, nowMs) => log.push([from, to, nowMs]) },
  );
  return { breaker, log };
}

function fail(breaker: CircuitBreaker, times: number, nowMs: number): void {
  for (let i = 0; i < times; i++) breaker.onFailure(nowMs);
}

/** Opens the breaker by consecutive failures at `nowMs`. */
function trip(breaker: CircuitBreaker, nowMs: number): void {
  fail(breaker, settings.consecutiveFailures, nowMs);
  expect(breaker.state(nowMs)).toBe("open");
}

describe("CircuitBreaker: closed", () => {
  it("starts closed and allows traffic", () => {
    const { breaker } = recording();
    expect(breaker.state(0)).toBe("closed");
    expect(breaker.allow(0)).toBe(true);
    expect(breaker.transitions).toBe(0);
  });

  it("opens after N consecutive failures, not N - 1", () => {
    const { breaker, log } = recording();
    fail(breaker, 4, 100);
    expect(breaker.state(100)).toBe("closed");
    breaker.onFailure(200);
    expect(breaker.state(200)).toBe("open");
    expect(log).toEqual([["closed", "open", 200]]);
  });

  it("resets the consecutive count on a success", () => {
    // The rate rule is off (errorRate 1 is never exceeded), so only the consecutive rule could trip.
    const { breaker } = recording({ errorRate: 1 });
    for (let round = 0; round < 10; round++) {
      fail(breaker, 4, round * 10);
      breaker.onSuccess(round * 10 + 5);
    }
    expect(breaker.state(100)).toBe("closed");
    fail(breaker, 5, 200);
    expect(breaker.state(200)).toBe("open");
  });

  it.each<[string, { failures: number; successes: number }, BreakerState]>([
    ["19 requests, all failed: below minRequests", { failures: 19, successes: 0 }, "closed"],
    ["20 requests, all failed", { failures: 20, successes: 0 }, "open"],
    ["20 requests, 50% failed: not above the rate", { failures: 10, successes: 10 }, "closed"],
    ["20 requests, 55% failed", { failures: 11, successes: 9 }, "open"],
    ["40 requests, 75% failed", { failures: 30, successes: 10 }, "open"],
    ["40 requests, 25% failed", { failures: 10, successes: 30 }, "closed"],
  ])("error rate: %s -> %s", (_name, { failures, successes }, expected) => {
    // The consecutive rule is out of reach, so only the rate rule decides; successes come first because only
    // a failure can trip the breaker.
    const { breaker } = recording({ consecutiveFailures: 1_000 });
    for (let i = 0; i < successes; i++) breaker.onSuccess(i * 10);
    for (let i = 0; i < failures; i++) breaker.onFailure(1_000 + i * 10);
    expect(breaker.state(2_000)).toBe(expected);
  });

  it("judges the error rate over the window only: old failures expire", () => {
    const { breaker } = recording({ consecutiveFailures: 100 });
    // 15 failures at t = 0 s, then 10 successes at t = 12 s: the old failures have left the 10 s window.
    fail(breaker, 15, 0);
    for (let i = 0; i < 10; i++) breaker.onSuccess(12_000);
    fail(breaker, 9, 12_000);
    // 19 requests in the window (10 ok, 9 failed): below minRequests, so still closed.
    expect(breaker.state(12_000)).toBe("closed");
    breaker.onFailure(12_000);
    // 20 requests, 10 failed = 50%: not above.
    expect(breaker.state(12_000)).toBe("closed");
    breaker.onFailure(12_000);
    expect(breaker.state(12_000)).toBe("open");
  });
});

describe("CircuitBreaker: open and half-open", () => {
  it("refuses while open and goes half-open lazily after openMs", () => {
    const { breaker, log } = recording();
    trip(breaker, 1_000);
    expect(breaker.allow(1_000)).toBe(false);
    expect(breaker.allow(5_999)).toBe(false);
    expect(breaker.state(5_999)).toBe("open");
    expect(breaker.state(6_000)).toBe("half-open");
    expect(log).toEqual([
      ["closed", "open", 1_000],
      ["open", "half-open", 6_000],
    ]);
  });

  it.each([1, 2, 3])("allows exactly halfOpenProbes = %i trial requests", (probes) => {
    const { breaker } = recording({ halfOpenProbes: probes });
    trip(breaker, 0);
    const allowed = Array.from({ length: probes + 3 }, () => breaker.allow(5_000)).filter(Boolean).length;
    expect(allowed).toBe(probes);
  });

  it("closes on a probe success and resets the cool-down", () => {
    const { breaker, log } = recording();
    trip(breaker, 0);
    expect(breaker.allow(5_000)).toBe(true);
    breaker.onFailure(5_100); // probe fails: cool-down 10 s
    expect(breaker.cooldownMs).toBe(10_000);
    expect(breaker.allow(15_100)).toBe(true);
    breaker.onSuccess(15_200);
    expect(breaker.state(15_200)).toBe("closed");
    expect(breaker.allow(15_200)).toBe(true);
    expect(breaker.cooldownMs).toBe(5_000);
    expect(log.map(([from, to]) => `${from}->${to}`)).toEqual([
      "closed->open",
      "open->half-open",
      "half-open->open",
      "open->half-open",
      "half-open->closed",
    ]);
    expect(breaker.transitions).toBe(5);
    // Judged afresh after closing: the failures before it no longer count towards either rule.
    fail(breaker, 4, 15_300);
    expect(breaker.state(15_300)).toBe("closed");
    // And the next opening uses the base cool-down again.
    breaker.onFailure(15_400);
    expect(breaker.state(20_399)).toBe("open");
    expect(breaker.state(20_400)).toBe("half-open");
  });

  it("re-opens with a doubled cool-down on each probe failure, up to maxOpenMs", () => {
    const { breaker } = recording();
    trip(breaker, 0);
    let now = 0;
    const cooldowns: number[] = [];
    for (let i = 0; i < 7; i++) {
      now += breaker.cooldownMs;
      expect(breaker.state(now - 1)).toBe("open");
      expect(breaker.allow(now)).toBe(true);
      breaker.onFailure(now);
      expect(breaker.state(now)).toBe("open");
      cooldowns.push(breaker.cooldownMs);
    }
    expect(cooldowns).toEqual([10_000, 20_000, 40_000, 60_000, 60_000, 60_000, 60_000]);
  });

  it("frees a probe slot on cancel without a verdict", () => {
    const { breaker } = recording();
    trip(breaker, 0);
    expect(breaker.allow(5_000)).toBe(true);
    expect(breaker.allow(5_000)).toBe(false);
    breaker.onCancel(5_500);
    expect(breaker.state(5_500)).toBe("half-open");
    expect(breaker.allow(5_500)).toBe(true);
  });

  it("ignores outcomes of requests admitted before it opened", () => {
    const { breaker } = recording();
    trip(breaker, 0);
    // Stragglers finishing while open change nothing.
    breaker.onSuccess(1_000);
    breaker.onFailure(1_000);
    expect(breaker.state(1_000)).toBe("open");
    expect(breaker.cooldownMs).toBe(5_000);
    // Half-open with no probe out: a straggler neither closes nor re-opens it.
    breaker.onFailure(6_000);
    expect(breaker.state(6_000)).toBe("half-open");
    breaker.onSuccess(6_000);
    expect(breaker.state(6_000)).toBe("half-open");
    expect(breaker.allow(6_000)).toBe(true);
  });
});

describe("CircuitBreaker settings", () => {
  it("has the documented, frozen defaults, which it accepts", () => {
    expect(DEFAULT_BREAKER_SETTINGS).toEqual(settings);
    expect(Object.isFrozen(DEFAULT_BREAKER_SETTINGS)).toBe(true);
    expect(new CircuitBreaker(DEFAULT_BREAKER_SETTINGS).state(0)).toBe("closed");
  });

  it.each<[Partial<BreakerSettings>, RegExp]>([
    [{ consecutiveFailures: 0 }, /consecutiveFailures must be an integer >= 1, got 0/],
    [{ errorRate: 1.5 }, /errorRate must be a number in \[0, 1\], got 1.5/],
    [{ errorRate: Number.NaN }, /errorRate must be a number in \[0, 1\], got NaN/],
    [{ minRequests: 0 }, /minRequests must be an integer >= 1, got 0/],
    [{ windowMs: 2_500 }, /windowMs must be a whole number of seconds >= 1000, got 2500/],
    [{ openMs: 0 }, /openMs must be a finite number > 0, got 0/],
    [{ maxOpenMs: 1_000 }, /maxOpenMs must be a finite number >= openMs, got 1000/],
    [{ halfOpenProbes: 0 }, /halfOpenProbes must be an integer >= 1, got 0/],
  ])("rejects %o", (bad, message) => {
    expect(() => new CircuitBreaker({ ...settings, ...bad })).toThrow(message);
  });
});
