import { getEventListeners, once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { pino } from "pino";
import { errors as undiciErrors } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Backend } from "../../src/backends/backend.js";
import { createOpenAiHttpBackend } from "../../src/backends/openai-http/openai-http-backend.js";
import type { OpenAiHttpBackendOptions } from "../../src/backends/openai-http/options.js";
import { SseParser } from "../../src/backends/openai-http/sse-parser.js";
import { parseRetryAfter, transportError } from "../../src/backends/openai-http/upstream-errors.js";
import { type Composed, compose } from "../../src/compose.js";
import { parseConfig } from "../../src/config/load.js";
import { type Clock, SystemClock, VirtualClock } from "../../src/core/clock.js";
import { GatewayError } from "../../src/core/errors.js";
import type { DoneEvent, GenerationEvent, GenerationRequest, TokenEvent } from "../../src/core/types.js";
import { type RunningServer, startServer } from "../../src/http/server.js";
import { contractRequests, runBackendContract } from "./contract.js";

/**
 * The openai-http backend against a live Tollgate (the contract, client disconnects) and against a tiny
 * node:http stub that misbehaves on cue (the error-mapping table). Timeouts are driven by a VirtualClock,
 * so no test waits for a deadline on the wall clock.
 */

const REPLICA = {
  deployment: "upstream",
  model: "qwen-small",
  provider: "test",
  region: "local",
  gpu: "external",
  gpuCount: 1,
  pricePerGpuHourUsd: 0,
};

const TIMEOUTS = { connectMs: 2000, firstTokenMs: 5000, totalMs: 10_000 };

function makeBackend(
  baseUrl: string,
  overrides: Partial<OpenAiHttpBackendOptions> & { clock: Clock },
): Backend {
  return createOpenAiHttpBackend({
    replica: { id: "upstream/0", ...REPLICA },
    baseUrl,
    timeouts: TIMEOUTS,
    connections: 4,
    ...overrides,
  });
}

interface Drained {
  tokens: TokenEvent[];
  text: string;
  done: DoneEvent | undefined;
  error: unknown;
}

async function drain(events: AsyncIterable<GenerationEvent>): Promise<Drained> {
  const drained: Drained = { tokens: [], text: "", done: undefined, error: undefined };
  try {
    for await (const event of events) {
      if (event.type === "token") {
        drained.tokens.push(event);
        drained.text += event.text;
      } else {
        drained.done = event;
      }
    }
  } catch (error) {
    drained.error = error;
  }
  return drained;
}

// ---------------------------------------------------------------------------------------------------------
// A live Tollgate upstream, shared by the contract and the disconnect test.

const upstreamConfig = parseConfig({
  server: { port: 0 },
  // It plays a model server here; the gateway in front of it is the one that guards.
  guard: { enabled: false },
  models: [{ id: "qwen-small", profile: "Qwen2.5-0.5B" }],
  deployments: [
    {
      name: "qwen-h100",
      model: "qwen-small",
      backend: {
        type: "simulated",
        hardware: "H100-SXM-80GB",
        // Natural lengths far above any max_tokens here: `length` decides where a completion stops.
        output: { lengthMedian: 1e6, lengthSigma: 0 },
      },
    },
  ],
});

interface Upstream {
  composed: Composed;
  server: RunningServer;
  baseUrl: string;
}

let upstreamPromise: Promise<Upstream> | undefined;

function upstream(): Promise<Upstream> {
  upstreamPromise ??= (async () => {
    const composed = compose({
      config: upstreamConfig,
      clock: new SystemClock(),
      logger: pino({ level: "silent" }),
      processMetrics: false,
    });
    const server = await startServer(composed.app, { port: 0, host: "127.0.0.1" });
    return { composed, server, baseUrl: `http://127.0.0.1:${server.port}` };
  })();
  return upstreamPromise;
}

afterAll(async () => {
  if (upstreamPromise === undefined) return;
  const { server, composed } = await upstreamPromise;
  await server.close(1000);
  await composed.gateway.close();
});

runBackendContract("openai-http -> live Tollgate", async () => {
  const { baseUrl } = await upstream();
  const clock = new SystemClock();
  const backend = makeBackend(baseUrl, { clock });
  return {
    backend,
    makeRequest: contractRequests({ model: "qwen-small", clock }),
    teardown: () => backend.close(),
  };
});

describe("openai-http -> live Tollgate: client disconnect", () => {
  it("aborting mid-stream frees the upstream replica's seat", async () => {
    const { baseUrl, composed } = await upstream();
    const clock = new SystemClock();
    const backend = makeBackend(baseUrl, { clock });
    const makeRequest = contractRequests({ model: "qwen-small", clock });
    const upstreamLoad = () =>
      composed.gateway.replicaSamples().reduce((n, sample) => n + sample.running + sample.waiting, 0);
    // Earlier tests' aborted requests may still be leaving the upstream.
    await vi.waitFor(() => expect(upstreamLoad()).toBe(0), { timeout: 2000, interval: 5 });
    const controller = new AbortController();
    let tokens = 0;
    let loadWhileStreaming = 0;
    for await (const event of backend.generate(makeRequest({ maxTokens: 5000 }), controller.signal)) {
      if (event.type === "token" && ++tokens === 3) {
        loadWhileStreaming = upstreamLoad();
        controller.abort();
      }
    }
    expect(loadWhileStreaming).toBe(1);
    expect(backend.snapshot().running).toBe(0);
    // The upstream learns of the disconnect from its socket: one round trip, not a deadline.
    await vi.waitFor(() => expect(upstreamLoad()).toBe(0), { timeout: 2000, interval: 5 });
    await backend.close();
  });

  it("keeps the upstream's context_length_exceeded code and message", async () => {
    const { baseUrl } = await upstream();
    const clock = new SystemClock();
    const backend = makeBackend(baseUrl, { clock });
    const result = await drain(
      backend.generate(
        contractRequests({ model: "qwen-small", clock })({ maxTokens: 1e7 }),
        new AbortController().signal,
      ),
    );
    expect(result.error).toMatchObject({ code: "context_length_exceeded", status: 400, retryable: false });
    expect((result.error as GatewayError).message).toMatch(/maximum context length/);
    await backend.close();
  });
});

// ---------------------------------------------------------------------------------------------------------
// A stub upstream that misbehaves on cue: the request's model names the behaviour.

interface Received {
  url: string;
  headers: IncomingMessage["headers"];
  body: Record<string, unknown>;
  /** Resolves when the client closed the connection or finished the request. */
  closed: Promise<void>;
}

const chatChunk = (content: string, finish: string | null = null) => ({
  object: "chat.completion.chunk",
  choices: [{ index: 0, delta: { content }, finish_reason: finish }],
  usage: null,
});

const usageChunk = (prompt: number, completion: number, cached?: number) => ({
  object: "chat.completion.chunk",
  choices: [],
  usage: {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    ...(cached !== undefined && { prompt_tokens_details: { cached_tokens: cached } }),
  },
});

const data = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`;

function openStream(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

const BEHAVIOURS: Record<string, (res: ServerResponse) => void> = {
  ok(res) {
    openStream(res);
    res.end(
      data(chatChunk("Hello")) +
        data(chatChunk(" there", "length")) +
        data(usageChunk(9, 2)) +
        "data: [DONE]\n\n",
    );
  },
  "rate-limited"(res) {
    sendJson(
      res,
      429,
      { error: { message: "Rate limit reached", type: "rate_limit_error", code: null } },
      {
        "retry-after": "7",
      },
    );
  },
  broken(res) {
    sendJson(res, 500, { error: { message: "CUDA out of memory at 0xdeadbeef", type: "server_error" } });
  },
  bad(res) {
    sendJson(res, 400, {
      error: {
        message: "temperature must be at most 2",
        type: "invalid_request_error",
        param: "temperature",
      },
    });
  },
  missing(res) {
    sendJson(res, 404, { object: "error", message: "The model `missing` does not exist.", code: 404 });
  },
  "too-large"(res) {
    res.writeHead(413, { "content-type": "text/plain" });
    res.end("Payload Too Large");
  },
  "error-mid-stream"(res) {
    openStream(res);
    res.end(
      data(chatChunk("Hel")) +
        data({ error: { message: "engine died", type: "server_error", code: "backend_error" } }),
    );
  },
  "error-first"(res) {
    openStream(res);
    res.end(`event: error\ndata: ${JSON.stringify({ error: { message: "overloaded" } })}\n\n`);
  },
  "stall-before-headers"() {},
  "stall-after-headers"(res) {
    openStream(res);
    res.write(": keep-alive\n\n");
  },
  "stall-after-token"(res) {
    openStream(res);
    res.write(data(chatChunk("Hi")));
  },
  "break-mid-stream"(res) {
    openStream(res);
    res.write(data(chatChunk("Hi")), () => res.socket?.destroy());
  },
  "end-early"(res) {
    openStream(res);
    res.end(data(chatChunk("Hi")));
  },
  "not-a-stream"(res) {
    sendJson(res, 200, { object: "chat.completion", choices: [] });
  },
  cached(res) {
    openStream(res);
    // CRLF line ends, a comment, a retry field and an event split over several writes, as proxies produce.
    const text =
      `: ping\r\n\r\nretry: 1000\r\n${data(chatChunk("a")).replaceAll("\n", "\r\n")}` +
      data(chatChunk("b", "stop")) +
      data(usageChunk(40, 2, 32)) +
      "data: [DONE]\r\n\r\n";
    for (let i = 0; i < text.length; i += 7) res.write(text.slice(i, i + 7));
    res.end();
  },
  "no-usage"(res) {
    openStream(res);
    res.end(
      data(chatChunk("one")) +
        data(chatChunk(" two")) +
        data(chatChunk(" three", "stop")) +
        "data: [DONE]\n\n",
    );
  },
  packed(res) {
    // One delta standing for several tokens, as vLLM sends while it detokenises.
    openStream(res);
    res.end(
      data(chatChunk("Hello wor")) +
        data(chatChunk("ld!", "length")) +
        data(usageChunk(5, 5)) +
        "data: [DONE]\n\n",
    );
  },
  completion(res) {
    openStream(res);
    const chunk = (text: string, finish: string | null) => ({
      object: "text_completion",
      choices: [{ index: 0, text, finish_reason: finish }],
    });
    res.end(data(chunk("Once", null)) + data(chunk(" upon", "length")) + "data: [DONE]\n\n");
  },
};

class Stub {
  readonly received: Received[] = [];
  connections = 0;
  readonly #server: Server;
  readonly #waiters: Array<(r: Received) => void> = [];
  port = 0;

  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
        const closed = once(res, "close").then(() => undefined);
        const received = { url: req.url ?? "", headers: req.headers, body, closed };
        this.received.push(received);
        for (const resolve of this.#waiters.splice(0)) resolve(received);
        const behaviour = BEHAVIOURS[String(body.model)] ?? BEHAVIOURS.ok!;
        behaviour(res);
      });
    });
    this.#server.on("connection", () => this.connections++);
  }

  async listen(port = 0): Promise<string> {
    this.#server.listen(port, "127.0.0.1");
    await once(this.#server, "listening");
    this.port = (this.#server.address() as AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }

  nextRequest(): Promise<Received> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, "close");
  }
}

const chatRequest = (model: string, overrides: Partial<GenerationRequest> = {}): GenerationRequest => ({
  id: `req_${model}`,
  model,
  kind: "chat",
  messages: [{ role: "user", content: "hi" }],
  promptText: "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
  promptTokens: [1, 2, 3, 4, 5, 6, 7],
  maxTokens: 16,
  stop: [],
  temperature: 0,
  topP: 1,
  arrivalMs: 0,
  ...overrides,
});

describe("openai-http against a stub upstream", () => {
  const stub = new Stub();
  let baseUrl: string;
  let clock: VirtualClock;
  let backend: Backend;
  const run = (
    model: string,
    overrides: Partial<GenerationRequest> = {},
    signal = new AbortController().signal,
  ) => drain(backend.generate(chatRequest(model, overrides), signal));

  beforeAll(async () => {
    baseUrl = await stub.listen();
  });

  afterAll(async () => {
    await stub.close();
  });

  afterEach(async () => {
    await backend.close();
  });

  function useBackend(overrides: Partial<OpenAiHttpBackendOptions> = {}): Backend {
    clock = new VirtualClock({ startMs: 1000 });
    backend = makeBackend(baseUrl, { clock, ...overrides });
    return backend;
  }

  it("posts a streamed chat request with the mapped headers and sampling fields", async () => {
    const base = `${baseUrl}/proxy`;
    clock = new VirtualClock();
    backend = makeBackend(base, {
      clock,
      apiKey: "sk-test",
      headers: { "X-Org": "tollgate" },
      upstreamModel: "ok",
    });
    const result = await drain(
      backend.generate(
        chatRequest("qwen-small", { id: "req_abc", maxTokens: 12, stop: ["\n\n"], seed: 7, topP: 0.9 }),
        new AbortController().signal,
      ),
    );
    expect(result.error).toBeUndefined();
    const received = stub.received.at(-1)!;
    expect(received.url).toBe("/proxy/v1/chat/completions");
    expect(received.headers).toMatchObject({
      authorization: "Bearer sk-test",
      "x-org": "tollgate",
      "x-request-id": "req_abc",
      "content-type": "application/json",
    });
    expect(received.body).toEqual({
      model: "ok",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 12,
      temperature: 0,
      top_p: 0.9,
      stop: ["\n\n"],
      seed: 7,
    });
  });

  it("maps a streamed answer to token events and a done with usage and timings", async () => {
    useBackend();
    const result = await run("ok", { arrivalMs: 900 });
    expect(result.tokens.map((t) => [t.text, t.tokens])).toEqual([
      ["Hello", 1],
      [" there", 1],
    ]);
    expect(result.done).toEqual({
      type: "done",
      finishReason: "length",
      usage: { promptTokens: 9, completionTokens: 2, cachedPromptTokens: 0 },
      timings: { arrivalMs: 900, scheduledMs: 1000, firstTokenMs: 1000, endMs: 1000, preemptions: 0 },
      gpuSeconds: 0,
      replicaId: "upstream/0",
    });
  });

  it("releases its timers, its listener and its running count at the done event, returned or not", async () => {
    useBackend();
    const signal = new AbortController().signal;
    const events = backend.generate(chatRequest("ok"), signal)[Symbol.asyncIterator]();
    let result = await events.next();
    expect(backend.snapshot().running).toBe(1);
    expect(clock.pending).toBe(1); // the total deadline; the first-token one went with the first token
    expect(getEventListeners(signal, "abort")).toHaveLength(1);
    while (!result.done && result.value.type !== "done") result = await events.next();
    // Read up to the done event and no further, as the dispatcher used to: nothing is held any more. The total
    // deadline (600 s by default) once stayed armed here, with the request's AbortController in its closure.
    expect(result.value).toMatchObject({ type: "done" });
    expect(clock.pending).toBe(0);
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
    expect(backend.snapshot().running).toBe(0);
    expect(await events.next()).toEqual({ done: true, value: undefined });
    expect(backend.snapshot().running).toBe(0);
  });

  it("posts completions to /v1/completions with the prompt text", async () => {
    useBackend();
    const result = await drain(
      backend.generate(
        chatRequest("completion", { kind: "completion", messages: undefined, promptText: "Once" }),
        new AbortController().signal,
      ),
    );
    const received = stub.received.at(-1)!;
    expect(received.url).toBe("/v1/completions");
    expect(received.body).toMatchObject({ model: "completion", prompt: "Once", stream: true });
    expect(received.body.messages).toBeUndefined();
    expect(result.text).toBe("Once upon");
    expect(result.done?.finishReason).toBe("length");
  });

  it("maps usage with cached tokens from a CRLF stream split across writes", async () => {
    useBackend();
    const result = await run("cached");
    expect(result.text).toBe("ab");
    expect(result.done).toMatchObject({
      finishReason: "stop",
      usage: { promptTokens: 40, completionTokens: 2, cachedPromptTokens: 32 },
    });
  });

  it("counts the chunks when the upstream sends no usage", async () => {
    useBackend();
    const result = await run("no-usage");
    expect(result.done?.usage).toEqual({ promptTokens: 7, completionTokens: 3, cachedPromptTokens: 0 });
  });

  it("adds an empty token event when a delta stood for several tokens", async () => {
    useBackend();
    const result = await run("packed");
    expect(result.tokens.map((t) => [t.text, t.tokens])).toEqual([
      ["Hello wor", 1],
      ["ld!", 1],
      ["", 3],
    ]);
    expect(result.done?.usage.completionTokens).toBe(5);
  });

  it("reuses one keep-alive connection for sequential requests", async () => {
    useBackend();
    const before = stub.connections;
    for (let i = 0; i < 6; i++) expect((await run("ok")).done).toBeDefined();
    // Not one per request. undici's Pool may open a second connection while the first is still settling
    // after its first response (plain pool.request does the same); both are then reused.
    expect(stub.connections - before).toBeLessThanOrEqual(2);
  });

  describe("error mapping", () => {
    const table: Array<{
      model: string;
      expected: Record<string, unknown>;
      message?: RegExp;
      tokens?: number;
    }> = [
      {
        model: "rate-limited",
        expected: { code: "rate_limit_exceeded", status: 429, retryable: true, retryAfterSeconds: 7 },
        message: /Rate limit reached/,
      },
      { model: "broken", expected: { code: "backend_error", status: 502, retryable: true } },
      {
        model: "bad",
        expected: { code: "invalid_request", status: 400, retryable: false, param: "temperature" },
        message: /temperature must be at most 2/,
      },
      {
        model: "missing",
        expected: { code: "model_not_found", status: 404, retryable: false },
        message: /does not exist/,
      },
      { model: "too-large", expected: { code: "request_too_large", status: 413, retryable: false } },
      { model: "error-mid-stream", expected: { code: "backend_error", retryable: false }, tokens: 1 },
      { model: "error-first", expected: { code: "backend_error", retryable: true } },
      { model: "break-mid-stream", expected: { code: "backend_error", retryable: false }, tokens: 1 },
      { model: "end-early", expected: { code: "backend_error", retryable: false }, tokens: 1 },
      { model: "not-a-stream", expected: { code: "backend_error", retryable: true } },
    ];

    it.each(table)("$model -> $expected.code", async ({ model, expected, message, tokens }) => {
      useBackend();
      const result = await run(model);
      expect(result.error).toBeInstanceOf(GatewayError);
      expect(result.error).toMatchObject(expected);
      if (message) expect((result.error as Error).message).toMatch(message);
      expect(result.tokens).toHaveLength(tokens ?? 0);
      expect(result.done).toBeUndefined();
      expect(backend.snapshot()).toMatchObject({ ready: true, running: 0 });
    });

    it("does not pass a 5xx body's internals on", async () => {
      useBackend();
      const { error } = await run("broken");
      expect((error as Error).message).not.toMatch(/CUDA|deadbeef/);
    });

    /** The outcome of a pending step, with a handler attached at once (no unhandled rejection meanwhile). */
    const settle = (step: Promise<IteratorResult<GenerationEvent>>) =>
      step.then(
        (result) => ({ value: result.value as GenerationEvent | undefined, error: undefined as unknown }),
        (error: unknown) => ({ value: undefined, error }),
      );

    /** Starts a generation against a stalling model; returns its iterator once the stub has the request. */
    async function stalled(model: string) {
      useBackend();
      const arrived = stub.nextRequest();
      const events = backend
        .generate(chatRequest(model), new AbortController().signal)
        [Symbol.asyncIterator]();
      const first = settle(events.next());
      return { events, first, received: await arrived };
    }

    it("no answer at all: a retryable timeout at firstTokenMs, and the upstream sees the disconnect", async () => {
      const { first, received } = await stalled("stall-before-headers");
      await clock.advance(TIMEOUTS.firstTokenMs - 1);
      await clock.advance(1);
      expect(await first).toMatchObject({ error: { code: "timeout", status: 504, retryable: true } });
      await received.closed;
      expect(backend.snapshot()).toMatchObject({ ready: true, running: 0 });
    });

    it("headers but no token: a retryable timeout at firstTokenMs", async () => {
      const { first, received } = await stalled("stall-after-headers");
      // One loopback round trip, so the stub's headers and keep-alive comment are in before the deadline.
      await delay(20);
      await clock.advance(TIMEOUTS.firstTokenMs);
      expect(await first).toMatchObject({ error: { code: "timeout", retryable: true } });
      await received.closed;
    });

    it("a token, then silence: a timeout at totalMs that is not retryable", async () => {
      const { events, first, received } = await stalled("stall-after-token");
      expect(await first).toMatchObject({ value: { type: "token", text: "Hi" } });
      // The first-token deadline no longer applies once a token arrived.
      await clock.advance(TIMEOUTS.firstTokenMs);
      const next = settle(events.next());
      await clock.advance(TIMEOUTS.totalMs - TIMEOUTS.firstTokenMs);
      expect(await next).toMatchObject({ error: { code: "timeout", retryable: false } });
      await received.closed;
    });

    it("a closed port: a retryable backend_error; not ready after 3 in a row, until a probe or an answer", async () => {
      const stubOnPort = new Stub();
      const url = await stubOnPort.listen();
      await stubOnPort.close();
      clock = new VirtualClock();
      backend = makeBackend(url, { clock, health: { failuresBeforeUnready: 3, probeAfterMs: 1000 } });
      for (let i = 0; i < 3; i++) {
        expect(backend.snapshot().ready).toBe(true);
        const result = await run("ok");
        expect(result.error).toMatchObject({ code: "backend_error", status: 502, retryable: true });
        expect((result.error as Error).message).toMatch(/ECONNREFUSED/);
      }
      expect(backend.snapshot().ready).toBe(false);
      await clock.advance(1000);
      expect(backend.snapshot().ready).toBe(true);
      expect((await run("ok")).error).toMatchObject({ code: "backend_error" });
      expect(backend.snapshot().ready).toBe(false);
      // The upstream comes back on the same port: one answered request makes the replica ready at once.
      const revived = new Stub();
      await revived.listen(stubOnPort.port);
      try {
        expect((await run("ok")).done).toBeDefined();
        expect(backend.snapshot().ready).toBe(true);
      } finally {
        await revived.close();
      }
    });

    it("an abort before the upstream answers ends quietly and disconnects", async () => {
      useBackend();
      const controller = new AbortController();
      const arrived = stub.nextRequest();
      const outcome = run("stall-before-headers", {}, controller.signal);
      const received = await arrived;
      controller.abort();
      expect(await outcome).toMatchObject({ tokens: [], done: undefined, error: undefined });
      await received.closed;
      expect(backend.snapshot().running).toBe(0);
    });

    it("refuses requests once closed", async () => {
      useBackend();
      await backend.close();
      expect((await run("ok")).error).toMatchObject({ code: "service_unavailable" });
      expect(backend.snapshot().ready).toBe(false);
    });
  });
});

describe("transport error classification", () => {
  const context = { replicaId: "r/0", tokensYielded: false, headersReceived: false };
  const sysError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

  it.each([
    ["ECONNREFUSED", sysError("ECONNREFUSED"), context, "backend_error", true, true],
    ["ENOTFOUND", sysError("ENOTFOUND"), context, "backend_error", true, true],
    [
      "ECONNRESET mid-response",
      sysError("ECONNRESET"),
      { ...context, headersReceived: true },
      "backend_error",
      true,
      false,
    ],
    ["connect timeout", new undiciErrors.ConnectTimeoutError(), context, "timeout", true, true],
    ["headers timeout", new undiciErrors.HeadersTimeoutError(), context, "timeout", true, false],
    [
      "body timeout after a token",
      new undiciErrors.BodyTimeoutError(),
      { ...context, headersReceived: true, tokensYielded: true },
      "timeout",
      false,
      false,
    ],
    [
      "socket closed",
      new undiciErrors.SocketError("other side closed"),
      context,
      "backend_error",
      true,
      true,
    ],
  ] as const)("%s", (_, error, ctx, code, retryable, connectionFailure) => {
    const mapped = transportError(error, ctx);
    expect(mapped.error).toMatchObject({ code, retryable });
    expect(mapped.connectionFailure).toBe(connectionFailure);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    expect(parseRetryAfter("7", now)).toBe(7);
    expect(parseRetryAfter(["3", "9"], now)).toBe(3);
    expect(parseRetryAfter("Thu, 01 Jan 2026 12:00:02 GMT", now)).toBe(2);
    expect(parseRetryAfter("Thu, 01 Jan 2026 11:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe("SSE parser", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  function feedSplit(text: string, size: number) {
    const parser = new SseParser();
    const all = bytes(text);
    const events = [];
    for (let i = 0; i < all.length; i += size) events.push(...parser.push(all.subarray(i, i + size)));
    events.push(...parser.end());
    return events;
  }

  const stream =
    ": keep-alive\r\n\r\n" +
    'data: {"t":"héllo 🚀"}\r\n\r\n' +
    "event: error\rdata: line one\rdata: line two\r\r" +
    "id: 3\nretry: 10\ndata:no-space\n\n" +
    "data:\n\n" +
    "data: [DONE]\n\n" +
    "data: never dispatched";

  it.each([1, 2, 3, 5, 1000])("gives the same events whatever the chunk size (%d bytes)", (size) => {
    expect(feedSplit(stream, size)).toEqual([
      { event: "message", data: '{"t":"héllo 🚀"}' },
      { event: "error", data: "line one\nline two" },
      { event: "message", data: "no-space" },
      { event: "message", data: "[DONE]" },
    ]);
  });
});

describe("options validation", () => {
  it("names every bad field, its rule and its value", () => {
    expect(() =>
      createOpenAiHttpBackend({
        replica: { id: "bad/0", ...REPLICA },
        baseUrl: "http://127.0.0.1:8000/v1",
        headers: { "x-request-id": "mine", "bad header": "x" },
        timeouts: { connectMs: 0, firstTokenMs: 20, totalMs: 10 },
        connections: 0,
        clock: new VirtualClock(),
      }),
    ).toThrow(
      /without \/v1.*timeouts\.connectMs must be > 0 \(got 0\).*firstTokenMs must be <= timeouts\.totalMs.*connections must be an integer >= 1 \(got 0\).*headers\.x-request-id is set by the backend.*"bad header" is not a valid header name/,
    );
  });
});
