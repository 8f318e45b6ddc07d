import type { Dispatcher } from "undici";
import type { Clock, TimerHandle } from "../../core/clock.js";
import { GatewayError } from "../../core/errors.js";
import type { GenerationEvent, GenerationRequest } from "../../core/types.js";
import type { OpenAiHttpTimeouts } from "./options.js";
import type { PassiveHealth } from "./passive-health.js";
import { SseParser } from "./sse-parser.js";
import { type StreamProblem, StreamState } from "./stream-state.js";
import { type FailureContext, parseRetryAfter, statusError, transportError } from "./upstream-errors.js";
import { errorInfoOf, upstreamCall } from "./wire.js";

/** What one upstream generation needs from its backend. */
export interface GenerationDeps {
  pool: Dispatcher;
  /** Path prefix of the base URL ("" or e.g. "/proxy"), before `/v1/...`. */
  basePath: string;
  /** Headers of every request (auth, extra headers), already lower-cased. */
  headers: Readonly<Record<string, string>>;
  /** Model name sent upstream; the request's model when undefined. */
  upstreamModel: string | undefined;
  timeouts: OpenAiHttpTimeouts;
  clock: Clock;
  replicaId: string;
  health: PassiveHealth;
  isClosed(): boolean;
  /** Called once when the upstream request starts, and once when everything it held has been released. */
  onStart(): void;
  onEnd(): void;
}

/** Error bodies beyond this are not read: an OpenAI error object is a few hundred bytes. */
const ERROR_BODY_LIMIT = 64 * 1024;

/** Why the backend aborted the upstream request itself. */
type StopReason = "client" | "first-token" | "total";

/**
 * One generation proxied to the upstream: post with `stream: true`, then turn each SSE chunk into a token event
 * as it arrives (no buffering), and the usage chunk into the `done` event. Deadlines run on the injected clock.
 * Aborting `signal`, or the consumer leaving the loop, aborts the upstream request at once: undici destroys
 * the socket, so the upstream sees the disconnect and frees the sequence.
 *
 * Everything made for the request (both timers, the upstream AbortController, the listener on `signal`) is
 * released before the final events are yielded, not only in `finally`: consumers stop reading at the `done`
 * event and may never ask for the end of the stream, and a 600 s total timer left behind kept one Timeout and
 * one AbortController per request alive for ten minutes.
 */
export async function* streamGeneration(
  deps: GenerationDeps,
  request: GenerationRequest,
  signal: AbortSignal,
): AsyncGenerator<GenerationEvent> {
  const { clock, timeouts, replicaId } = deps;
  if (deps.isClosed()) throw new GatewayError("service_unavailable", `replica ${replicaId} is closed`);
  if (signal.aborted) return;
  const call = upstreamCall(request, deps.upstreamModel ?? request.model);
  const upstream = new AbortController();
  let stopReason: StopReason | undefined;
  const stop = (reason: StopReason) => {
    if (stopReason !== undefined) return;
    stopReason = reason;
    upstream.abort(new Error(`upstream request stopped: ${reason}`));
  };
  const onAbort = () => stop("client");
  signal.addEventListener("abort", onAbort, { once: true });
  // Handles are dropped once fired or cleared: a virtual clock keeps every cleared id until it would fire.
  let firstTokenTimer: TimerHandle | undefined = clock.setTimer(timeouts.firstTokenMs, () => {
    firstTokenTimer = undefined;
    stop("first-token");
  });
  let totalTimer: TimerHandle | undefined = clock.setTimer(timeouts.totalMs, () => {
    totalTimer = undefined;
    stop("total");
  });
  const clearFirstTokenTimer = () => {
    if (firstTokenTimer !== undefined) clock.clearTimer(firstTokenTimer);
    firstTokenTimer = undefined;
  };
  /** True once the response body was read to its end: nothing is left to abort. */
  let bodyConsumed = false;
  let released = false;
  deps.onStart();
  /** Idempotent: called before the final events and again (as a no-op then) in `finally`. */
  const release = () => {
    if (released) return;
    released = true;
    signal.removeEventListener("abort", onAbort);
    clearFirstTokenTimer();
    if (totalTimer !== undefined) clock.clearTimer(totalTimer);
    totalTimer = undefined;
    // Also reached when the consumer stops early: the still-open upstream request must not run on.
    if (!bodyConsumed && !upstream.signal.aborted) upstream.abort(new Error("generation ended early"));
    deps.onEnd();
  };
  const context: FailureContext & { headersReceived: boolean } = {
    replicaId,
    tokensYielded: false,
    headersReceived: false,
  };

  /** Any failure as the error to throw, or undefined when the client's abort ended the generation. */
  const failure = (error: unknown): GatewayError | undefined => {
    if (stopReason === "client") return undefined;
    if (stopReason === "first-token") {
      return new GatewayError(
        "timeout",
        `replica ${replicaId}: no first token within ${timeouts.firstTokenMs} ms`,
        {
          retryable: true,
        },
      );
    }
    if (stopReason === "total") {
      // After the first token the client already has part of the answer: a retry would start another one.
      return new GatewayError("timeout", `replica ${replicaId}: generation exceeded ${timeouts.totalMs} ms`, {
        retryable: !context.tokensYielded,
      });
    }
    if (error instanceof GatewayError) return error;
    if (deps.isClosed())
      return new GatewayError("service_unavailable", `replica ${replicaId} is shutting down`);
    const mapped = transportError(error, context);
    if (mapped.connectionFailure) deps.health.connectionFailed();
    return mapped.error;
  };

  try {
    let response: Dispatcher.ResponseData;
    try {
      response = await deps.pool.request({
        path: deps.basePath + call.endpoint,
        method: "POST",
        headers: { ...deps.headers, "x-request-id": request.id },
        body: call.body,
        signal: upstream.signal,
        // undici's own timers back up the clock's (which a virtual clock may never fire): headers cannot come
        // later than the first token, and no gap between chunks can be longer than the whole generation.
        headersTimeout: timeouts.firstTokenMs,
        bodyTimeout: timeouts.totalMs,
      });
    } catch (error) {
      const failed = failure(error);
      if (failed === undefined) return;
      throw failed;
    }
    context.headersReceived = true;
    deps.health.answered();
    const scheduledMs = clock.now();
    const { statusCode, headers, body } = response;
    if (statusCode < 200 || statusCode >= 300) {
      const text = await readLimited(body, ERROR_BODY_LIMIT).catch(() => "");
      bodyConsumed = true;
      if (stopReason === "client") return;
      throw statusError(
        {
          status: statusCode,
          info: errorInfoOf(parseJson(text)),
          retryAfterSeconds: parseRetryAfter(headers["retry-after"], clock.epochMs()),
        },
        context,
      );
    }
    const contentType = String(headers["content-type"] ?? "");
    if (!contentType.includes("text/event-stream")) {
      body.destroy();
      throw new GatewayError(
        "backend_error",
        `replica ${replicaId}: the upstream did not stream (content-type ${JSON.stringify(contentType)})`,
        { retryable: true },
      );
    }

    const parser = new SseParser();
    const state = new StreamState(request.kind);
    let firstTokenMs: number | undefined;
    try {
      // After `[DONE]` the body is still read to its end rather than dropped: destroying an unfinished body
      // closes the socket, and the keep-alive connection is what makes the Pool fast.
      for await (const chunk of body as AsyncIterable<Buffer>) {
        for (const event of parser.push(chunk)) {
          const accepted = state.accept(event);
          if ("problem" in accepted) throw streamProblemError(accepted.problem, context);
          if (accepted.text === "") continue;
          const atMs = clock.now();
          if (firstTokenMs === undefined) {
            firstTokenMs = atMs;
            clearFirstTokenTimer();
          }
          context.tokensYielded = true;
          yield { type: "token", text: accepted.text, tokens: 1, atMs };
        }
      }
      bodyConsumed = true;
      for (const event of parser.end()) state.accept(event);
    } catch (error) {
      // An upstream that keeps the connection open (or drops it) after `[DONE]` has given the whole answer.
      const lingered = state.done && stopReason !== "client";
      if (!lingered) {
        const failed = failure(error);
        if (failed === undefined) return;
        throw failed;
      }
    }
    if (!state.complete) {
      throw new GatewayError("backend_error", `replica ${replicaId}: the upstream ended the stream early`, {
        retryable: !context.tokensYielded,
      });
    }
    const endMs = clock.now();
    const usage = state.usage(request);
    release();
    // The upstream may pack several tokens into one delta (vLLM does while detokenising): the remainder goes
    // out as one empty event, so the token events always add up to usage.completionTokens.
    const missing = usage.completionTokens - state.deltas;
    if (missing > 0) yield { type: "token", text: "", tokens: missing, atMs: endMs };
    yield {
      type: "done",
      finishReason: state.finishReason(),
      usage,
      timings: {
        arrivalMs: request.arrivalMs,
        scheduledMs,
        firstTokenMs: firstTokenMs ?? endMs,
        endMs,
        preemptions: 0,
      },
      // An external server's accelerator time is unknown; see the note on createOpenAiHttpBackend.
      gpuSeconds: 0,
      replicaId,
    };
  } finally {
    release();
  }
}

function streamProblemError(problem: StreamProblem, context: FailureContext): GatewayError {
  const who = `replica ${context.replicaId}`;
  if (problem.kind === "malformed") {
    return new GatewayError("backend_error", `${who}: the upstream sent a malformed stream chunk`, {
      retryable: !context.tokensYielded,
      cause: problem.raw.slice(0, 500),
    });
  }
  const code = problem.error?.code;
  return new GatewayError(
    "backend_error",
    `${who}: the upstream failed mid-stream${code === undefined ? "" : ` (${code})`}`,
    { retryable: !context.tokensYielded, cause: problem.error ?? problem.raw.slice(0, 500) },
  );
}

async function readLimited(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of body) {
    text += decoder.decode(chunk, { stream: true });
    // Leaving the loop destroys the body (and its connection); fine for an oversized error body.
    if (text.length > limit) break;
  }
  return text + decoder.decode();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
