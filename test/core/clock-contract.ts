import { describe, expect, it } from "vitest";
import { type Clock, sleep } from "../../src/core/clock.js";

/**
 * The contract every Clock keeps, the system clock and the virtual one alike: the serving core is written
 * against it, so a stage tested on the virtual clock behaves the same on real time. Delays here are a few
 * milliseconds, so the system clock's run stays short; its timers may fire up to `toleranceMs` early (Node
 * schedules in whole milliseconds of its own loop time, performance.now() is finer).
 */
export interface ClockSubject {
  clock: Clock;
  /** Lets `ms` of the clock's time pass, running the timers due meanwhile and what their callbacks await. */
  pass(ms: number): Promise<void>;
  /** How much earlier than its due time a timer may fire (0 for a virtual clock). */
  toleranceMs: number;
}

/** Longer than any delay used by the tests below: time enough for all of them to be due. */
const SETTLE_MS = 40;

export function runClockContract(name: string, setup: () => ClockSubject): void {
  describe(`clock contract: ${name}`, () => {
    /** Schedules `delays` in order and returns the order (by index) they fired in, once all are due. */
    async function firingOrder(subject: ClockSubject, delays: readonly number[]): Promise<number[]> {
      const fired: number[] = [];
      for (const [i, delay] of delays.entries()) subject.clock.setTimer(delay, () => fired.push(i));
      await subject.pass(SETTLE_MS);
      return fired;
    }

    it("now() never goes back, and moves with the time that passes", async () => {
      const { clock, pass, toleranceMs } = setup();
      let last = clock.now();
      for (let i = 0; i < 1000; i++) {
        const now = clock.now();
        expect(now).toBeGreaterThanOrEqual(last);
        last = now;
      }
      await pass(10);
      expect(clock.now() - last).toBeGreaterThanOrEqual(10 - toleranceMs);
    });

    it("epochMs() is Unix time in milliseconds, moving with now()", async () => {
      const { clock, pass } = setup();
      const offset = clock.epochMs() - clock.now();
      expect(clock.epochMs()).toBeGreaterThan(Date.UTC(2020, 0, 1));
      expect(clock.epochMs()).toBeLessThan(Date.UTC(2100, 0, 1));
      await pass(10);
      // The system clock's two sources (performance.now, Date.now) may drift apart by a millisecond or so.
      expect(Math.abs(clock.epochMs() - clock.now() - offset)).toBeLessThan(5);
    });

    it("fires timers in order of due time, equal ones in the order they were set", async () => {
      const order = await firingOrder(setup(), [12, 3, 7, 3, 12, 0]);
      expect(order).toEqual([5, 1, 3, 2, 0, 4]);
    });

    it("fires a timer no earlier than its delay, measured on now()", async () => {
      const { clock, pass, toleranceMs } = setup();
      const start = clock.now();
      let firedAt: number | undefined;
      clock.setTimer(6, () => {
        firedAt = clock.now();
      });
      await pass(SETTLE_MS);
      expect(firedAt).toBeDefined();
      expect((firedAt as number) - start).toBeGreaterThanOrEqual(6 - toleranceMs);
    });

    it("never fires a timer from inside setTimer, not even with a zero or negative delay", async () => {
      const { clock, pass } = setup();
      const fired: string[] = [];
      clock.setTimer(0, () => fired.push("zero"));
      clock.setTimer(-5, () => fired.push("negative"));
      expect(fired).toEqual([]);
      await pass(0);
      await pass(SETTLE_MS);
      expect(fired).toEqual(["zero", "negative"]);
    });

    it("runs zero and negative delays before any positive one, in the order they were set", async () => {
      expect(await firingOrder(setup(), [25, -1, 0, -100, 0])).toEqual([1, 2, 3, 4, 0]);
    });

    it("treats a delay that is not a number as zero, and keeps its time", async () => {
      const { clock, pass } = setup();
      const fired: string[] = [];
      clock.setTimer(25, () => fired.push("later"));
      clock.setTimer(Number.NaN, () => fired.push("nan"));
      await pass(SETTLE_MS);
      expect(fired).toEqual(["nan", "later"]);
      expect(Number.isFinite(clock.now())).toBe(true);
    });

    it("holds a delay longer than any timer takes (2^31 ms and beyond, Infinity) instead of firing it", async () => {
      const { clock, pass } = setup();
      const fired: number[] = [];
      const handles = [2 ** 31 - 1, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY].map(
        (delay) => clock.setTimer(delay, () => fired.push(delay)),
      );
      await pass(SETTLE_MS);
      expect(fired).toEqual([]);
      for (const handle of handles) clock.clearTimer(handle);
    });

    it("never fires a cleared timer, and leaves the others due at the same time alone", async () => {
      const { clock, pass } = setup();
      const fired: string[] = [];
      for (const delay of [0, 5]) {
        clock.setTimer(delay, () => fired.push(`a${delay}`));
        const b = clock.setTimer(delay, () => fired.push(`b${delay}`));
        clock.setTimer(delay, () => fired.push(`c${delay}`));
        clock.clearTimer(b);
      }
      await pass(SETTLE_MS);
      expect(fired).toEqual(["a0", "c0", "a5", "c5"]);
    });

    it("lets a timer clear another one due at the same time", async () => {
      const { clock, pass } = setup();
      const fired: string[] = [];
      for (const delay of [0, 5]) {
        let second: ReturnType<Clock["setTimer"]> | undefined;
        clock.setTimer(delay, () => {
          fired.push(`first${delay}`);
          if (second) clock.clearTimer(second);
        });
        second = clock.setTimer(delay, () => fired.push(`second${delay}`));
      }
      await pass(SETTLE_MS);
      expect(fired).toEqual(["first0", "first5"]);
    });

    it("takes clearTimer twice, or after the timer fired, as a no-op", async () => {
      const { clock, pass } = setup();
      const fired: string[] = [];
      const once = clock.setTimer(1, () => fired.push("once"));
      await pass(SETTLE_MS);
      clock.clearTimer(once);
      const twice = clock.setTimer(1, () => fired.push("twice"));
      clock.clearTimer(twice);
      clock.clearTimer(twice);
      clock.setTimer(1, () => fired.push("after"));
      await pass(SETTLE_MS);
      expect(fired).toEqual(["once", "after"]);
    });

    it("runs timers set by timers, each a full delay after its own setting", async () => {
      const { clock, pass, toleranceMs } = setup();
      const gaps: number[] = [];
      let last = clock.now();
      const tick = () => {
        const now = clock.now();
        gaps.push(now - last);
        last = now;
        if (gaps.length < 4) clock.setTimer(3, tick);
      };
      clock.setTimer(3, tick);
      await pass(SETTLE_MS);
      expect(gaps).toHaveLength(4);
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(3 - toleranceMs);
    });

    it("gives every timer its own handle", () => {
      const { clock } = setup();
      const ids = Array.from({ length: 50 }, () => clock.setTimer(1, () => {}));
      expect(new Set(ids.map((h) => h.id)).size).toBe(50);
      for (const handle of ids) clock.clearTimer(handle);
    });

    it("sleeps on it: resolves after the delay, rejects with the abort's reason and cancels its timer", async () => {
      const { clock, pass, toleranceMs } = setup();
      const start = clock.now();
      const slept = sleep(clock, 5).then(() => clock.now() - start);
      await pass(SETTLE_MS);
      expect(await slept).toBeGreaterThanOrEqual(5 - toleranceMs);

      const controller = new AbortController();
      const aborted = sleep(clock, 10_000, controller.signal);
      controller.abort(new Error("gone"));
      await expect(aborted).rejects.toThrow("gone");
      await expect(sleep(clock, 1, AbortSignal.abort(new Error("already")))).rejects.toThrow("already");
    });
  });
}
