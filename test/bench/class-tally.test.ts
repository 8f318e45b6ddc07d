import { describe, expect, it } from "vitest";
import { ClassTally } from "../../bench/lib/class-tally.js";

describe("ClassTally", () => {
  it("counts admitted, shed, errors and unfinished per class, with attainment and goodput", () => {
    const tally = new ClassTally();
    for (let i = 0; i < 6; i++) tally.sent("interactive");
    tally.sent("batch");
    tally.record({ sloClass: "interactive", status: 200, ttftMs: 100, sloMet: true });
    tally.record({ sloClass: "interactive", status: 200, ttftMs: 300, sloMet: false });
    tally.record({ sloClass: "interactive", status: 503, retryAfterSeconds: 1 });
    tally.record({ sloClass: "interactive", status: 429 });
    tally.record({ sloClass: "interactive", status: 200, error: "stream ended before data: [DONE]" });
    // One interactive request never settles: unfinished.
    const summary = tally.summary(2000);
    expect(Object.keys(summary)).toEqual(["interactive", "batch"]);
    const interactive = summary["interactive"]!;
    expect(interactive).toMatchObject({
      sent: 6,
      admitted: 2,
      shed: 2,
      shedRate: 2 / 6,
      errors: 1,
      unfinished: 1,
      met: 1,
      attainment: 0.5,
      goodput: 0.5,
      retryAfter: { "1": 1, none: 1 },
    });
    expect(interactive.ttft.count).toBe(2);
    expect(interactive.ttft.max).toBeCloseTo(300, 0);
    expect(summary["batch"]).toMatchObject({
      sent: 1,
      admitted: 0,
      unfinished: 1,
      attainment: 0,
      goodput: 0,
    });
  });

  it("counts a 200 without a verdict, and any other status, as an error", () => {
    const tally = new ClassTally();
    tally.sent("standard");
    tally.sent("standard");
    tally.record({ sloClass: "standard", status: 200, ttftMs: 5 });
    tally.record({ sloClass: "standard", status: 500 });
    expect(tally.summary(0)["standard"]).toMatchObject({ admitted: 0, errors: 2, unfinished: 0, goodput: 0 });
  });
});
