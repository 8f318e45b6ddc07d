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
