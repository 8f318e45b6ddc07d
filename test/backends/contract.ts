import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Backend } from "../../src/backends/backend.js";
import type { Clock } from "../../src/core/clock.js";
import { GatewayError } from "../../src/core/errors.js";
import { createCl100kTokenizer } from "../../src/core/tokenizer.js";
import type { DoneEvent, GenerationEvent, GenerationRequest, TokenEvent } from "../../src/core/types.js";

/**
 * The contract every Backend passes, simulated and real alike: a new backend gets the whole suite for a few
 * lines. The backend under test must run on real time (a SystemClock, or a real server), and must not end a
 * completion of the default prompt by itself before 64 tokens (so `max_tokens` decides where it stops).
 */
export interface ContractSubject {
  backend: Backend;
  /** A valid request for the backend's model; overrides replace fields (prompt fields are re-derived). */
  makeRequest(overrides?: Partial<GenerationRequest>): GenerationRequest;
  teardown(): Promise<void>;
}

const DEFAULT_PROMPT = "Explain how a GPU serves a large language model.";

/**
 * A request factory for contract subjects: prompt tokens come from the gateway's tokenizer (chat template
 * applied for chat requests), ids are unique, arrival is the clock's now.
 */
export function contractRequests(options: {
  model: string;
  clock: Clock;
}): (overrides?: Partial<GenerationRequest>) => GenerationRequest {
  const tokenizer = createCl100kTokenizer();
  let next = 0;
  return (overrides = {}) => {
    const kind = overrides.kind ?? "completion";
    const messages = overrides.messages ?? [{ role: "user" as const, content: DEFAULT_PROMPT }];
    const text = overrides.promptText ?? DEFAULT_PROMPT;
    const prompt =
      kind === "chat" ? tokenizer.encodeChat(messages) : { text, tokens: tokenizer.encode(text) };
    const base: GenerationRequest = {
      id: `req_contract_${++next}`,
      model: options.model,
      kind,
      promptText: prompt.text,
      promptTokens: prompt.tokens,
      maxTokens: 16,
      stop: [],
      temperature: 0,
      topP: 1,
      arrivalMs: options.clock.now(),
    };
    return { ...base, ...(kind === "chat" && { messages }), ...overrides, promptText: prompt.text };
  };
}

interface Drained {
  events: GenerationEvent[];
  tokens: TokenEvent[];
  text: string;
  dones: DoneEvent[];
  error: unknown;
}

async function drain(events: AsyncIterable<GenerationEvent>): Promise<Drained> {
  const drained: Drained = { events: [], tokens: [], text: "", dones: [], error: undefined };
  try {
    for await (const event of events) {
      drained.events.push(event);
      if (event.type === "token") {
        drained.tokens.push(event);
        drained.text += event.text;
      } else {
        drained.dones.push(event);
      }
    }
  } catch (error) {
    drained.error = error;
  }
  return drained;
}

const sumTokens = (tokens: readonly TokenEvent[]) => tokens.reduce((n, t) => n + t.tokens, 0);

/** How long an aborted generation may take to end: far below the seconds the long request would run. */
const PROMPT_MS = 500;

export function runBackendContract(name: string, setup: () => Promise<ContractSubject>): void {
  describe(`backend contract: ${name}`, () => {
    let subject: ContractSubject;
    const generate = (request: GenerationRequest, signal = new AbortController().signal) =>
      subject.backend.generate(request, signal);

    beforeAll(async () => {
      subject = await setup();
    });

    afterAll(async () => {
      await subject?.teardown();
    });

    it("yields token events, then exactly one done, last", async () => {
      const result = await drain(generate(subject.makeRequest({ maxTokens: 12 })));
      expect(result.error).toBeUndefined();
      expect(result.dones).toHaveLength(1);
      expect(result.events.at(-1)?.type).toBe("done");
      expect(result.tokens.length).toBeGreaterThan(0);
      const done = result.dones[0]!;
      expect(done.replicaId).toBe(subject.backend.replica.id);
      const atMs = result.tokens.map((t) => t.atMs);
      expect(atMs).toEqual([...atMs].sort((a, b) => a - b));
      const { timings } = done;
      expect(timings.scheduledMs).toBeLessThanOrEqual(timings.firstTokenMs);
      expect(timings.firstTokenMs).toBeLessThanOrEqual(timings.endMs);
      expect(timings.firstTokenMs).toBe(result.tokens.find((t) => t.text !== "")?.atMs);
      expect(done.gpuSeconds).toBeGreaterThanOrEqual(0);
    });

    it("reports usage: completion tokens equal the tokens yielded, within maxTokens", async () => {
      const request = subject.makeRequest({ maxTokens: 20 });
      const result = await drain(generate(request));
      const done = result.dones[0]!;
      expect(done.usage.completionTokens).toBe(sumTokens(result.tokens));
      expect(done.usage.completionTokens).toBeLessThanOrEqual(request.maxTokens);
      expect(done.usage.promptTokens).toBeGreaterThan(0);
      expect(done.usage.cachedPromptTokens).toBeGreaterThanOrEqual(0);
      expect(done.usage.cachedPromptTokens).toBeLessThanOrEqual(done.usage.promptTokens);
    });

    it('finishes with "length" when maxTokens cuts the completion', async () => {
      const result = await drain(generate(subject.makeRequest({ maxTokens: 5 })));
      expect(result.dones[0]).toMatchObject({ finishReason: "length", usage: { completionTokens: 5 } });
    });

    it("serves chat requests", async () => {
      const request = subject.makeRequest({
        kind: "chat",
        messages: [
          { role: "system", content: "You are terse." },
          { role: "user", content: "Name a GPU." },
        ],
        maxTokens: 8,
      });
      const result = await drain(generate(request));
      expect(result.error).toBeUndefined();
      expect(result.text.length).toBeGreaterThan(0);
      expect(result.dones[0]?.usage.completionTokens).toBe(sumTokens(result.tokens));
    });

    it("gives the same non-empty text for the same request at temperature 0", async () => {
      const ask = () => drain(generate(subject.makeRequest({ maxTokens: 16, temperature: 0 })));
      const [a, b] = await Promise.all([ask(), ask()]);
      expect(a.text.length).toBeGreaterThan(0);
      expect(b.text).toBe(a.text);
    });

    it("ends promptly without done when aborted mid-stream, and frees its seat", async () => {
      const controller = new AbortController();
      const events = generate(subject.makeRequest({ maxTokens: 2000 }), controller.signal);
      let tokens = 0;
      let abortedAt = 0;
      const seen: GenerationEvent[] = [];
      for await (const event of events) {
        seen.push(event);
        if (event.type === "token" && ++tokens === 3) {
          abortedAt = performance.now();
          controller.abort(new Error("client went away"));
        }
      }
      expect(performance.now() - abortedAt).toBeLessThan(PROMPT_MS);
      expect(seen.some((e) => e.type === "done")).toBe(false);
      await vi.waitFor(() => expect(subject.backend.snapshot().running).toBe(0), { timeout: PROMPT_MS });
    });

    it("treats a consumer that stops reading as an abort", async () => {
      let tokens = 0;
      for await (const event of generate(subject.makeRequest({ maxTokens: 2000 }))) {
        if (event.type === "token" && ++tokens === 2) break;
      }
      await vi.waitFor(() => expect(subject.backend.snapshot().running).toBe(0), { timeout: PROMPT_MS });
    });

    it("ends at once, with no events, for an already aborted signal", async () => {
      const result = await drain(generate(subject.makeRequest(), AbortSignal.abort()));
      expect(result).toMatchObject({ events: [], error: undefined });
      expect(subject.backend.snapshot().running).toBe(0);
    });

    it("serves a new generation after an abort", async () => {
      const controller = new AbortController();
      for await (const event of generate(subject.makeRequest({ maxTokens: 2000 }), controller.signal)) {
        if (event.type === "token") controller.abort();
      }
      const result = await drain(generate(subject.makeRequest({ maxTokens: 6 })));
      expect(result.error).toBeUndefined();
      expect(result.dones).toHaveLength(1);
      expect(subject.backend.snapshot()).toMatchObject({ ready: true, running: 0 });
    });

    it("surfaces a failure as a GatewayError, before any token", async () => {
      // Far beyond any context window: every backend must refuse it.
      const result = await drain(generate(subject.makeRequest({ maxTokens: 10_000_000 })));
      expect(result.error).toBeInstanceOf(GatewayError);
      const error = result.error as GatewayError;
      expect(error.status).toBeGreaterThanOrEqual(400);
      expect(error.status).toBeLessThan(500);
      expect(error.retryable).toBe(false);
      expect(result.events).toEqual([]);
      expect(subject.backend.snapshot().running).toBe(0);
    });

    it("reports a snapshot of its load", () => {
      const snapshot = subject.backend.snapshot();
      expect(snapshot).toMatchObject({ ready: true, running: 0, waiting: 0 });
      expect(snapshot.kvCacheUsage).toBeGreaterThanOrEqual(0);
      expect(snapshot.kvCacheUsage).toBeLessThanOrEqual(1);
    });
  });
}
