import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { routingSchema } from "../../src/config/schema.js";
import { VirtualClock } from "../../src/core/clock.js";
import { GatewayError } from "../../src/core/errors.js";
import { SeededRandom } from "../../src/core/random.js";
import type { GenerationRequest } from "../../src/core/types.js";
import { type DispatchProgress, dispatch } from "../../src/routing/dispatch.js";
import { createPolicy } from "../../src/routing/policies/index.js";
import { ReplicaPool } from "../../src/routing/pool.js";
import { RetryBudget } from "../../src/routing/retry-budget.js";
import { ScriptedBackend } from "../helpers/scripted-backend.js";

/** What the dispatcher holds per request (deadlines, listeners, a replica's count) and when it lets go. */

const routing = routingSchema.parse({});

function setup(script: Partial<ConstructorParameters<typeof ScriptedBackend>[0]["script"]> = {}) {
  const clock = new VirtualClock();
  const backend = new ScriptedBackend({
    clock,
    model: "m",
    script: { words: ["a", "b", "c"], ttftMs: 10, itlMs: 10, ...script },
  });
  const pool = new ReplicaPool({
    model: "m",
    policyName: "least-outstanding",
    policy: createPolicy("least-outstanding"),
    members: [{ backend, weight: 1 }],
    breaker: routing.breaker,
    healthCheck: routing.healthCheck,
    clock,
    random: new SeededRandom(1),
  });
  const request: GenerationRequest = {
    id: "r1",
    model: "m",
    kind: "completion",
    promptText: "hi",
    promptTokens: [1, 2],
    maxTokens: 3,
    stop: [],
    temperature: 0,
    topP: 1,
    arrivalMs: 0,
  };
  const client = new AbortController();
  const progress: DispatchProgress = { started: false, attempts: 0 };
  const events = dispatch({
    pool,
    request,
    route: { promptTokens: request.promptTokens, maxTokens: request.maxTokens },
    signal: client.signal,
    settings: { maxAttempts: 2, backoffBaseMs: 25, backoffMaxMs: 100, firstTokenMs: 1000, totalMs: 600_000 },
    budget: new RetryBudget({ ratio: 0.2, minPerSecond: 5, windowMs: 10_000 }),
    clock,
    random: new SeededRandom(2),
    progress,
    hooks: { onPick: () => {}, onRetry: () => {}, onRetryRefused: () => {}, onAttemptFailed: () => {} },
  });
  return { clock, backend, member: pool.members[0]!, client, events };
}

/** The next event, moving the clock on by one scripted step (10 ms) to produce it. */
async function step<T>(events: AsyncIterator<T>, clock: VirtualClock): Promise<IteratorResult<T>> {
  const next = events.next();
  await clock.advance(10);
  return next;
}

/** Reads events until the done event, then stops without asking for more (a consumer that knows it is over). */
async function readToDone(events: AsyncIterator<{ type: string }>, clock: VirtualClock): Promise<void> {
  for (;;) {
    const result = await step(events, clock);
    if (result.done || result.value.type === "done") return;
  }
}

describe("dispatch: per-request state", () => {
  it("lets go of its deadlines, its listener and the replica's count at the done event", async () => {
    const { clock, backend, member, client, events } = setup();
    await readToDone(events, clock);
    // The consumer never reads past done: the 600 s total deadline must not stay armed until it fires.
    expect(clock.pending).toBe(0);
    expect(member.outstanding).toBe(0);
    expect(getEventListeners(client.signal, "abort")).toHaveLength(0);
    // The replica's stream is closed once the consumer reads the end.
    expect(backend.running).toBe(1);
    expect(await events.next()).toEqual({ done: true, value: undefined });
    expect(backend.running).toBe(0);
  });

  it("closes the replica's stream, suspended at its last event, when the dispatch is returned", async () => {
    const { clock, backend, events } = setup();
    await readToDone(events, clock);
    await events.return?.(undefined);
    // Before: close() skipped return() for a finished attempt, so the backend's `finally` never ran.
    expect(backend.running).toBe(0);
  });

  it("closes the replica's stream when it fails, and when the client leaves mid-stream", async () => {
    const failing = setup({ failAfter: 1, failWith: new GatewayError("backend_error", "boom") });
    expect(await step(failing.events, failing.clock)).toMatchObject({ value: { type: "token" } });
    const second = failing.events.next().catch((error: unknown) => error);
    await failing.clock.advance(10);
    expect(await second).toMatchObject({ code: "backend_error" });
    expect(failing.backend.running).toBe(0);
    expect(failing.clock.pending).toBe(0);

    const left = setup();
    expect(await step(left.events, left.clock)).toMatchObject({ value: { type: "token" } });
    left.client.abort(new Error("client went away"));
    await left.events.return?.(undefined);
    expect(left.backend.running).toBe(0);
    expect(left.member.outstanding).toBe(0);
    expect(left.clock.pending).toBe(0);
  });

  it("gives the replica an aborted signal when the client left before the attempt started", async () => {
    const { clock, backend, client, events } = setup();
    client.abort(new Error("client went away"));
    const first = events.next().catch((error: unknown) => error);
    await clock.advance(10);
    await first;
    // The replica never streams for a client that is gone: its generation ends at once.
    expect(backend.running).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
