import { describe, expect, it } from "vitest";
import { FaultInjectingBackend } from "../../src/backends/fault-injection.js";
import { SeededRandom } from "../../src/core/random.js";
import type { GenerationEvent } from "../../src/core/types.js";
import { makeBackend, makeRequest } from "./simulated/helpers.js";

/** Reads events up to and including the done event, then stops, as the dispatcher does. */
async function readToDone(events: AsyncIterable<GenerationEvent>): Promise<number> {
  let tokens = 0;
  for await (const event of events) {
    if (event.type === "done") return tokens;
    tokens += event.tokens;
  }
  throw new Error("no done event");
}

describe("FaultInjectingBackend", () => {
  it("lets go of a generation once its done event is delivered (no abort handle kept per request)", async () => {
    const { clock, backend } = makeBackend();
    const wrapped = new FaultInjectingBackend(backend, { clock, random: new SeededRandom(1) });
    const signal = new AbortController().signal;
    const reads = [0, 1, 2].map((i) =>
      readToDone(wrapped.generate(makeRequest(`r${i}`, { maxTokens: 4 }), signal)),
    );
    expect(wrapped.inFlight).toBe(3);
    await clock.runUntilIdle();
    expect(await Promise.all(reads)).toEqual([4, 4, 4]);
    // Held until here, every request's controller stayed in the outage set for the life of the process.
    expect(wrapped.inFlight).toBe(0);
  });

  it("still cuts off a generation in flight when an outage is set", async () => {
    const { clock, backend } = makeBackend();
    const wrapped = new FaultInjectingBackend(backend, { clock, random: new SeededRandom(1) });
    const read = readToDone(
      wrapped.generate(makeRequest("r", { maxTokens: 500 }), new AbortController().signal),
    ).catch((error: unknown) => error);
    await clock.advance(100);
    wrapped.setFault({ mode: "outage" });
    await clock.runUntilIdle();
    expect(await read).toMatchObject({ code: "replica_unavailable" });
    expect(wrapped.inFlight).toBe(0);
  });
});

describe("FaultInjectingBackend with a fault set: per-request state", () => {
  it("slow: lets go at the done event, read no further (no abort handle kept, no timer left)", async () => {
    const { clock, backend } = makeBackend();
    const wrapped = new FaultInjectingBackend(backend, { clock, random: new SeededRandom(1) });
    wrapped.setFault({ mode: "slow", factor: 2 });
    const events = wrapped
      .generate(makeRequest("r", { maxTokens: 4 }), new AbortController().signal)
      [Symbol.asyncIterator]();
    const read = (async () => {
      for (;;) {
        const result = await events.next();
        if (result.done || result.value.type === "done") return result;
      }
    })();
    await clock.runUntilIdle();
    expect(await read).toMatchObject({ value: { type: "done" } });
    expect(wrapped.inFlight).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it("hang: arms no timer, and ends (without a done event) when the request is aborted", async () => {
    const { clock, backend } = makeBackend();
    const wrapped = new FaultInjectingBackend(backend, { clock, random: new SeededRandom(1) });
    wrapped.setFault({ mode: "hang" });
    const client = new AbortController();
    const next = wrapped.generate(makeRequest("r"), client.signal)[Symbol.asyncIterator]().next();
    await clock.advance(60_000);
    // A 2^31 ms sleep stood here: on the system clock Node fires such a timer after 1 ms, ending the "hang".
    expect(clock.pending).toBe(0);
    client.abort(new Error("deadline"));
    expect(await next).toEqual({ done: true, value: undefined });
  });
});
