import { describe, expect, it } from "vitest";
import { Ewma } from "../../src/routing/ewma.js";

/** Feeds `value` every `stepMs` from `fromMs` for `count` samples; returns the time of the last one. */
function feed(ewma: Ewma, value: number, options: { fromMs: number; stepMs: number; count: number }): number {
  let t = options.fromMs;
  for (let i = 0; i < options.count; i++) {
    t = options.fromMs + i * options.stepMs;
    ewma.observe(value, t);
  }
  return t;
}

describe("Ewma", () => {
  it("is undefined before the first observation and equals it after", () => {
    const e = new Ewma({ halfLifeMs: 1000 });
    expect(e.value()).toBeUndefined();
    e.observe(123, 5);
    expect(e.value()).toBe(123);
  });

  it("moves half way to a new level in one half-life, whatever the sampling rate", () => {
    for (const stepMs of [1000, 250, 10]) {
      const e = new Ewma({ halfLifeMs: 1000 });
      const last = feed(e, 100, { fromMs: 0, stepMs, count: Math.ceil(60_000 / stepMs) });
      feed(e, 400, { fromMs: last + stepMs, stepMs, count: 1000 / stepMs });
      expect(e.value()).toBeCloseTo(250, 3);
    }
  });

  it("matches the classic update v += (1 - 2^(-dt/h)) (x - v) once warmed up with regular samples", () => {
    const e = new Ewma({ halfLifeMs: 800 });
    let t = feed(e, 50, { fromMs: 0, stepMs: 200, count: 400 });
    let classic = 50;
    for (const x of [80, 20, 300, 300, 10]) {
      t += 200;
      e.observe(x, t);
      classic += (1 - 2 ** (-200 / 800)) * (x - classic);
      expect(e.value()).toBeCloseTo(classic, 6);
    }
  });

  it("averages samples taken at the same instant instead of dropping all but the first", () => {
    const e = new Ewma({ halfLifeMs: 1000 });
    e.observe(100, 0);
    e.observe(300, 0);
    e.observe(200, 0);
    expect(e.value()).toBeCloseTo(200, 9);
  });

  it("handles irregular gaps: a sample after a long silence replaces the old level", () => {
    const e = new Ewma({ halfLifeMs: 1000 });
    e.observe(100, 0);
    e.observe(400, 60_000);
    expect(e.value()).toBeCloseTo(400, 6);
  });

  it("treats a clock that goes backwards as no time elapsed", () => {
    const e = new Ewma({ halfLifeMs: 1000 });
    e.observe(100, 1000);
    e.observe(300, 500);
    expect(e.value()).toBeCloseTo(200, 9);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])("rejects halfLifeMs = %s, naming the field", (h) => {
    expect(() => new Ewma({ halfLifeMs: h })).toThrow(/halfLifeMs must be a finite number > 0/);
  });

  it("rejects a non-finite sample rather than poisoning the average", () => {
    const e = new Ewma({ halfLifeMs: 1000 });
    expect(() => e.observe(Number.NaN, 0)).toThrow(RangeError);
    expect(e.value()).toBeUndefined();
  });
});
