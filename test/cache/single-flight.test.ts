import { describe, expect, it } from "vitest";
import { SharedGeneration } from "../../src/cache/single-flight.js";
import { flushMicrotasks, sleep, VirtualClock } from "../../src/core/clock.js";

/** A source that yields n numbers, one every 10 ms of virtual time, and records whether it was aborted. */
function counting(clock: VirtualClock, n: number, failAt?: number) {
  const state = { started: 0, aborted: false };
  const source = async function* (signal: AbortSignal): AsyncGenerator<number> {
    state.started++;
    try {
      for (let i = 0; i < n; i++) {
        await sleep(clock, 10, signal);
        if (i === failAt) throw new Error("boom");
        yield i;
      }
    } catch (error) {
      if (signal.aborted) state.aborted = true;
      throw error;
    }
  };
  return { state, source };
}

async function drain<T>(events: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe("SharedGeneration", () => {
  it("runs the source once and gives every subscriber every event, late ones included", async () => {
    const clock = new VirtualClock();
    const { state, source } = counting(clock, 5);
    const settled: boolean[] = [];
    const flight = new SharedGeneration(source, ({ ok }) => settled.push(ok));
    const first = drain(flight.subscribe(new AbortController().signal));
    await clock.advance(25);
    const late = drain(flight.subscribe(new AbortController().signal));
    await clock.advance(100);
    expect(await first).toEqual([0, 1, 2, 3, 4]);
    expect(await late).toEqual([0, 1, 2, 3, 4]);
    expect(state.started).toBe(1);
    expect(settled).toEqual([true]);
  });

  it("keeps going for the others when the first subscriber (the leader) cancels", async () => {
    const clock = new VirtualClock();
    const { state, source } = counting(clock, 4);
    const flight = new SharedGeneration(source, () => {});
    const leader = new AbortController();
    const leading = drain(flight.subscribe(leader.signal)).catch((e: unknown) => e);
    const following = drain(flight.subscribe(new AbortController().signal));
    await clock.advance(15);
    leader.abort(new Error("client went away"));
    await clock.advance(100);
    expect(await leading).toBeInstanceOf(Error);
    expect(await following).toEqual([0, 1, 2, 3]);
    expect(state.aborted).toBe(false);
  });

  it("aborts the source when the last subscriber leaves before it finished, and reports not ok", async () => {
    const clock = new VirtualClock();
    const { state, source } = counting(clock, 100);
    const outcomes: boolean[] = [];
    const flight = new SharedGeneration(source, ({ ok }) => outcomes.push(ok));
    const a = new AbortController();
    const b = new AbortController();
    const ra = drain(flight.subscribe(a.signal)).catch(() => "left");
    const rb = drain(flight.subscribe(b.signal)).catch(() => "left");
    await clock.advance(25);
    a.abort();
    await flushMicrotasks();
    expect(state.aborted).toBe(false);
    b.abort();
    await clock.advance(20);
    expect(await ra).toBe("left");
    expect(await rb).toBe("left");
    expect(state.aborted).toBe(true);
    expect(outcomes).toEqual([false]);
    expect(flight.settled).toBe(true);
  });

  it("gives every subscriber the source's error after the events before it", async () => {
    const clock = new VirtualClock();
    const { source } = counting(clock, 5, 2);
    const flight = new SharedGeneration(source, () => {});
    const seen: number[][] = [[], []];
    const read = (i: number) =>
      (async () => {
        for await (const e of flight.subscribe(new AbortController().signal)) seen[i]!.push(e);
      })().catch((e: Error) => e.message);
    const results = [read(0), read(1)];
    await clock.advance(100);
    expect(await Promise.all(results)).toEqual(["boom", "boom"]);
    expect(seen).toEqual([
      [0, 1],
      [0, 1],
    ]);
  });
});
