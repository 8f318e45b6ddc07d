import { SystemClock, VirtualClock } from "../../src/core/clock.js";
import { runClockContract } from "./clock-contract.js";

runClockContract("VirtualClock", () => {
  const clock = new VirtualClock({ startMs: 1_000 });
  return { clock, pass: (ms) => clock.advance(ms), toleranceMs: 0 };
});

/**
 * Real time, kept short: each test waits its few milliseconds once. Node runs a timer up to a millisecond
 * before performance.now() says it is due (its loop time is in whole milliseconds).
 */
runClockContract("SystemClock", () => {
  const clock = new SystemClock();
  const pass = async (ms: number) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    // Zero-delay timers are immediates: let the ones set by the last timers run too.
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { clock, pass, toleranceMs: 1 };
});
