import { describe, expect, it } from "vitest";
import { type ClassRun, classRows, classTable, retryAfterText } from "../../bench/lib/class-report.js";
import type { ClassSummary } from "../../bench/lib/class-tally.js";

function summary(overrides: Partial<ClassSummary>): ClassSummary {
  return {
    sent: 10,
    admitted: 8,
    shed: 2,
    shedRate: 0.2,
    errors: 0,
    unfinished: 0,
    met: 6,
    attainment: 0.75,
    goodput: 3,
    ttft: { count: 8, mean: 120, p50: 100, p90: 200, p99: 480.4, max: 490 },
    retryAfter: { "2": 1, "1": 1 },
    ...overrides,
  };
}

const RUNS: Record<string, ClassRun> = {
  "5x scheduler": {
    offeredRate: 107.1,
    durationMs: 2000,
    classes: {
      batch: summary({ shed: 0, shedRate: 0, retryAfter: {} }),
      interactive: summary({}),
      extra: summary({ admitted: 0, attainment: 0, shed: 0, retryAfter: {} }),
    },
  },
};

describe("classTable", () => {
  it("prints a header and one aligned line per run and class, in the given class order", () => {
    const lines = classTable(RUNS, ["interactive", "standard", "batch"]);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^run +class +sent +200 +shed +unfin +TTFT p50 +TTFT p99 +SLO met +goodput\/s$/);
    expect(lines[1]).toMatch(
      /^5x scheduler \(107\.1 req\/s\) +interactive +10 +8 +20% +0 +100 +480 +75% +3\.0 {2}Retry-After 1s x1 2s x1$/,
    );
    expect(lines[2]).toMatch(/ batch .* 3\.0$/);
    // No admitted requests: no latency or attainment to show.
    expect(lines[3]).toMatch(/ extra +10 +0 +20% +0 +- +- +- +3\.0$/);
    // Columns line up: the header's last column ends where a row without Retry-After ends.
    expect(lines[0]!.length).toBe(lines[2]!.length);
  });

  it("widens the run column to the longest run name", () => {
    const long = "5x scheduler, a diagnostic variant with a long name";
    const lines = classTable({ ...RUNS, [long]: RUNS["5x scheduler"]! });
    const classColumn = lines[0]!.indexOf("class");
    expect(classColumn).toBe(`${long} (107.1 req/s) `.length);
    for (const line of lines.slice(1)) expect(line.slice(classColumn)).toMatch(/^(interactive|batch|extra) /);
  });
});

describe("classRows", () => {
  it("gives each run and class its summary and admitted rate", () => {
    const rows = classRows(RUNS, ["interactive"]);
    expect(Object.keys(rows)).toEqual([
      "5x scheduler / interactive",
      "5x scheduler / batch",
      "5x scheduler / extra",
    ]);
    expect(rows["5x scheduler / interactive"]).toEqual({
      requestsPerSecond: 4,
      ...RUNS["5x scheduler"]!.classes["interactive"]!,
    });
    expect(rows["5x scheduler / extra"]!.requestsPerSecond).toBe(0);
  });
});

describe("retryAfterText", () => {
  it("lists values in ascending order, a missing header last", () => {
    expect(retryAfterText({ none: 2, "10": 1, "0": 3, "2": 4 })).toBe("0s x3 2s x4 10s x1 none x2");
    expect(retryAfterText({})).toBe("");
  });
});
