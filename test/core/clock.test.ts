import { describe, expect, it, vi } from "vitest";
import { SystemClock, sleep, VirtualClock } from "../../src/core/clock.js";

describe("VirtualClock", () => {
  it("fires timers in time order, then insertion order, and moves time to each", () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimer(20, () => fired.push(`b@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`a@${clock.now()}`));
    clock.setTimer(20, () => fired.push(`c@${clock.now()}`));
    clock.advanceSync(15);
    expect(fired).toEqual(["a@10"]);
    expect(clock.now()).toBe(15);
    clock.advanceSync(100);
    expect(fired).toEqual(["a@10", "b@20", "c@20"]);
    expect(clock.now()).toBe(115);
  });

  it("does not fire cleared timers", () => {
    const clock = new VirtualClock();
    let fired = false;
    const handle = clock.setTimer(5, () => {
      fired = true;
    });
    clock.clearTimer(handle);
    clock.advanceSync(10);
    expect(fired).toBe(false);
    expect(clock.nextTimerAt()).toBeUndefined();
  });

  it("fires the live timers in order after many cleared ones were compacted away", () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    const handles = Array.from({ length: 5000 }, (_, i) =>
      clock.setTimer(((i * 7919) % 5000) + 1, () => fired.push(i)),
    );
    // Clear two in three, interleaved with new timers, so compaction runs while the queue is in use.
    for (const [i, handle] of handles.entries()) if (i % 3 !== 0) clock.clearTimer(handle);
    clock.setTimer(0.5, () => fired.push(-1));
    expect(clock.pending).toBe(1668);
    clock.advanceSync(10_000);
    const expected = [-1, ...handles.map((_, i) => i).filter((i) => i % 3 === 0)];
    expected.sort((a, b) => (a === -1 ? -1 : b === -1 ? 1 : ((a * 7919) % 5000) - ((b * 7919) % 5000)));
    expect(fired).toEqual(expected);
    expect(clock.pending).toBe(0);
  });

  it("runs timers scheduled by timers within the same advance", () => {
    const clock = new VirtualClock();
    const times: number[] = [];
    const tick = () => {
      times.push(clock.now());
      if (times.length < 4) clock.setTimer(3, tick);
    };
    clock.setTimer(0, tick);
    clock.advanceSync(100);
    expect(times).toEqual([0, 3, 6, 9]);
  });

  it("lets promise continuations run between timers with advance()", async () => {
    const clock = new VirtualClock();
    const log: number[] = [];
    const task = (async () => {
      await sleep(clock, 10);
      log.push(clock.now());
      await sleep(clock, 5);
      log.push(clock.now());
    })();
    await clock.advance(20);
    await task;
    expect(log).toEqual([10, 15]);
  });

  it("rejects sleep when aborted", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const pending = sleep(clock, 100, controller.signal);
    controller.abort(new Error("gone"));
    await expect(pending).rejects.toThrow("gone");
  });

  it("reports epoch time from its base", () => {
    const clock = new VirtualClock({ epochBaseMs: 1_000_000 });
    clock.advanceSync(250);
    expect(clock.epochMs()).toBe(1_000_250);
  });
});

describe("SystemClock", () => {
  it("runs a zero-delay timer without waiting a millisecond tick and can cancel", async () => {
    const clock = new SystemClock();
    const ran = await new Promise<boolean>((resolve) => clock.setTimer(0, () => resolve(true)));
    expect(ran).toBe(true);
    let cancelledRan = false;
    const handle = clock.setTimer(0, () => {
      cancelledRan = true;
    });
    clock.clearTimer(handle);
    await new Promise((resolve) => setImmediate(resolve));
    expect(cancelledRan).toBe(false);
  });

  it("holds a delay beyond Node's timer limit at the limit, rather than firing it after 1 ms", () => {
    const clock = new SystemClock();
    const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout");
    try {
      const handle = clock.setTimer(2 ** 31, () => {});
      expect(setTimeoutSpy).toHaveBeenCalledWith(expect.any(Function), 2 ** 31 - 1);
      clock.clearTimer(handle);
    } finally {
      setTimeoutSpy.mockRestore();
    }
  });
});
