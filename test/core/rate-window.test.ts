import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../src/core/clock.js";
import { RateWindow } from "../../src/core/rate-window.js";

describe("RateWindow", () => {
  it("averages events over the last window of whole seconds and forgets older ones", () => {
    const clock = new VirtualClock();
    const window = new RateWindow({ clock, windowSeconds: 10 });
    for (let s = 0; s < 10; s++) {
      window.add(100);
      clock.advanceSync(1000);
    }
    // Now in second 10: the bucket of second 0 has rotated out, seconds 1-9 hold 100 each.
    expect(window.perSecond()).toBeCloseTo(90, 6);
    clock.advanceSync(60_000);
    expect(window.perSecond()).toBe(0);
  });
});
