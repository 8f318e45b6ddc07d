import { describe, expect, it } from "vitest";
import { FaultInjectingBackend, type RuntimeFault } from "../../src/backends/fault-injection.js";
import { GatewayError } from "../../src/core/errors.js";
import { SeededRandom } from "../../src/core/random.js";
import type { GenerationEvent } from "../../src/core/types.js";
import { makeBackend, makeRequest } from "./simulated/helpers.js";

/**
 * What the fault-injection wrapper promises in the modes that stop serving, where the Backend contract
 * (fault-injection-contract.test.ts) does not apply: outage and errors refuse before any token with a
 * retryable GatewayError, hang answers nothing until aborted and then ends quietly; in every mode a client
 * already gone gets nothing, no seat stays taken, and clearing the fault serves again.
 */
function setup(fault: RuntimeFault) {
  const { clock, backend } = makeBackend();
  const wrapped = new FaultInjectingBackend(backend, { clock, random: new SeededRandom(3) });
  wrapped.setFault(fault);
  return { clock, inner: backend, wrapped };
}

async function collect(events: AsyncIterable<GenerationEvent>) {
  const seen: GenerationEvent[] = [];
  try {
    for await (const event of events) seen.push(event);
    return { seen, error: undefined };
  } catch (error) {
    return { seen, error };
  }
}

const live = () => new AbortController().signal;

describe("FaultInjectingBackend in the modes that stop serving", () => {
  const refusing: { fault: RuntimeFault; code: string; status: number }[] = [
    { fault: { mode: "outage" }, code: "replica_unavailable", status: 503 },
    { fault: { mode: "errors", rate: 1 }, code: "backend_error", status: 502 },
  ];

  for (const { fault, code, status } of refusing) {
    it(`${fault.mode}: refuses before any token with a retryable ${status}, and takes no seat`, async () => {
      const { inner, wrapped } = setup(fault);
      const result = await collect(wrapped.generate(makeRequest("r"), live()));
      expect(result.seen).toEqual([]);
      expect(result.error).toBeInstanceOf(GatewayError);
      expect(result.error).toMatchObject({ code, status, retryable: true });
      expect(inner.snapshot().running).toBe(0);
      expect(wrapped.inFlight).toBe(0);
    });
  }

  it("outage: reports the replica not ready", () => {
    const { wrapped } = setup({ mode: "outage" });
    expect(wrapped.snapshot().ready).toBe(false);
    wrapped.setFault({ mode: "none" });
    expect(wrapped.snapshot().ready).toBe(true);
  });

  it("hang: answers nothing until aborted, then ends without done and without an error", async () => {
    const { clock, wrapped } = setup({ mode: "hang" });
    const client = new AbortController();
    const result = collect(wrapped.generate(makeRequest("r"), client.signal));
    await clock.advance(600_000);
    client.abort(new Error("deadline"));
    expect(await result).toEqual({ seen: [], error: undefined });
    expect(clock.pending).toBe(0);
  });

  const every: RuntimeFault[] = [
    { mode: "outage" },
    { mode: "errors", rate: 1 },
    { mode: "hang" },
    { mode: "slow", factor: 3 },
    { mode: "none" },
  ];

  for (const fault of every) {
    it(`${fault.mode}: a client already gone gets no events and no error`, async () => {
      const { clock, inner, wrapped } = setup(fault);
      const result = collect(wrapped.generate(makeRequest("r"), AbortSignal.abort()));
      await clock.runUntilIdle();
      expect(await result).toEqual({ seen: [], error: undefined });
      expect(inner.snapshot().running).toBe(0);
      expect(wrapped.inFlight).toBe(0);
    });

    it(`${fault.mode}: serves again once the fault is cleared`, async () => {
      const { clock, wrapped } = setup(fault);
      wrapped.setFault({ mode: "none" });
      const result = collect(wrapped.generate(makeRequest("r", { maxTokens: 4 }), live()));
      await clock.runUntilIdle();
      const { seen, error } = await result;
      expect(error).toBeUndefined();
      expect(seen.at(-1)).toMatchObject({ type: "done", usage: { completionTokens: 4 } });
    });
  }

  it("slow: a client leaving mid-stream ends the stream quietly, with no timer left", async () => {
    const { clock, inner, wrapped } = setup({ mode: "slow", factor: 4 });
    const client = new AbortController();
    const seen: GenerationEvent[] = [];
    const read = (async () => {
      for await (const event of wrapped.generate(makeRequest("r", { maxTokens: 500 }), client.signal)) {
        seen.push(event);
        if (seen.length === 2) client.abort(new Error("client went away"));
      }
    })();
    await clock.runUntilIdle();
    await expect(read).resolves.toBeUndefined();
    expect(seen.map((e) => e.type)).toEqual(["token", "token"]);
    expect(inner.snapshot().running).toBe(0);
    expect(wrapped.inFlight).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
