import { type Clock, sleep, type TimerHandle } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import type { Random } from "../core/random.js";
import type { DoneEvent, GenerationEvent, GenerationRequest, ServedBy, TokenEvent } from "../core/types.js";
import { backoffDelayMs } from "./backoff.js";
import type { PoolMember, ReplicaPool } from "./pool.js";
import type { RetryBudget } from "./retry-budget.js";
import { isRetryable } from "./retry-policy.js";
import type { RouteRequest } from "./types.js";

/** Events out of the dispatcher: the first token says which replica serves, the done event too. */
export type DispatchEvent = (TokenEvent & { servedBy?: ServedBy }) | (DoneEvent & { servedBy: ServedBy });

export interface DispatchSettings {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  firstTokenMs: number;
  totalMs: number;
}

/** What the caller learns while the generator runs (a generator cannot return this alongside its events). */
export interface DispatchProgress {
  /** Set once a token has been yielded: from then on nothing may be retried or re-routed. */
  started: boolean;
  attempts: number;
}

export interface DispatchHooks {
  onPick(member: PoolMember): void;
  onRetry(model: string, error: GatewayError | Error): void;
  onRetryRefused(model: string): void;
  onAttemptFailed(member: PoolMember, error: unknown): void;
}

/**
 * Serves one request from one pool: pick a replica, dispatch with first-token and total timeouts, and on a
 * retryable failure before the first token try another replica after a full-jitter backoff, while the retry
 * budget allows. Breakers and latency averages learn from every attempt. After the first token has been
 * yielded a failure is final: the client has part of an answer, and a retry would duplicate it.
 */
export async function* dispatch(options: {
  pool: ReplicaPool;
  request: GenerationRequest;
  route: RouteRequest;
  signal: AbortSignal;
  settings: DispatchSettings;
  budget: RetryBudget;
  clock: Clock;
  random: Random;
  progress: DispatchProgress;
  hooks: DispatchHooks;
}): AsyncGenerator<DispatchEvent> {
  const { pool, settings, budget, clock, progress, signal } = options;
  budget.onRequest(clock.now());
  const tried = new Set<PoolMember>();
  let lastError: unknown;
  for (let attempt = 0; attempt < settings.maxAttempts; attempt++) {
    const member = pool.pick(options.route, tried);
    if (member === undefined) break;
    tried.add(member);
    progress.attempts++;
    options.hooks.onPick(member);
    const run = new Attempt(member, options);
    let first: IteratorResult<GenerationEvent>;
    try {
      first = await run.start();
    } catch (error) {
      if (signal.aborted || !isRetryable(error)) throw error;
      lastError = error;
      options.hooks.onAttemptFailed(member, error);
      if (attempt + 1 >= settings.maxAttempts) break;
      if (!budget.tryRetry(clock.now())) {
        options.hooks.onRetryRefused(pool.model);
        break;
      }
      options.hooks.onRetry(pool.model, error as Error);
      const delay = backoffDelayMs(
        attempt,
        { baseMs: settings.backoffBaseMs, maxMs: settings.backoffMaxMs },
        options.random,
      );
      await sleep(clock, delay, signal);
      continue;
    }
    // The replica answered: from here on a failure is final (no retry after the first event). The loop is
    // inline (no nested generator) because every token of every response passes through it.
    try {
      let result = first;
      for (;;) {
        const event = run.handle(result);
        if (event.type === "done") {
          yield event;
          return;
        }
        yield event;
        result = await run.next();
      }
    } catch (error) {
      throw run.fail(error);
    } finally {
      await run.close();
    }
  }
  throw unavailable(pool.model, lastError);
}

function unavailable(model: string, cause: unknown): GatewayError {
  if (cause instanceof GatewayError) return cause;
  return new GatewayError("replica_unavailable", `No replica of model '${model}' could serve the request.`, {
    retryAfterSeconds: 1,
    ...(cause !== undefined && { cause }),
  });
}

/**
 * One attempt on one replica: timeouts, the replica's in-flight count, its breaker and latency averages.
 * `start()` waits for the replica's first event (the only phase that may be retried elsewhere); `stream()`
 * then passes events through with bookkeeping. Both are plain code around a single iterator, so a token
 * crosses one generator frame here, not one per layer.
 */
class Attempt {
  readonly #member: PoolMember;
  readonly #options: AttemptOptions;
  readonly #servedBy: ServedBy;
  readonly #controller = new AbortController();
  readonly #dispatchedMs: number;
  readonly #firstTokenTimer: TimerHandle;
  readonly #totalTimer: TimerHandle;
  #iterator: AsyncIterator<GenerationEvent> | undefined;
  #timedOut: GatewayError | undefined;
  #firstTokenMs: number | undefined;
  #released = false;
  readonly #onClientAbort: () => void;

  constructor(member: PoolMember, options: AttemptOptions) {
    this.#member = member;
    this.#options = options;
    const { replica } = member.backend;
    this.#servedBy = { model: replica.model, deployment: replica.deployment, replicaId: replica.id };
    const { clock, settings, signal } = options;
    this.#onClientAbort = () => this.#controller.abort(signal.reason);
    // A signal that has already fired never calls a listener added now: the client left during a backoff.
    if (signal.aborted) this.#onClientAbort();
    else signal.addEventListener("abort", this.#onClientAbort, { once: true });
    this.#dispatchedMs = clock.now();
    this.#firstTokenTimer = clock.setTimer(settings.firstTokenMs, () =>
      this.#expire(
        new GatewayError(
          "timeout",
          `Replica ${replica.id} sent no token within ${settings.firstTokenMs} ms.`,
          {
            retryable: true,
          },
        ),
      ),
    );
    this.#totalTimer = clock.setTimer(settings.totalMs, () =>
      this.#expire(
        new GatewayError("timeout", `Replica ${replica.id} did not finish within ${settings.totalMs} ms.`, {
          retryable: !options.progress.started,
        }),
      ),
    );
    member.outstanding++;
  }

  /** Dispatches and waits for the first event; on failure, cleans up and throws the failure. */
  async start(): Promise<IteratorResult<GenerationEvent>> {
    try {
      this.#iterator = this.#member.backend
        .generate(this.#options.request, this.#controller.signal)
        [Symbol.asyncIterator]();
      const first = await this.#iterator.next();
      this.#checkEnded(first);
      return first;
    } catch (error) {
      const failure = this.#fail(error);
      // A timeout can land while the replica still hands over an event: its stream is then left open.
      await this.#iterator?.return?.();
      throw failure;
    }
  }

  /** Bookkeeping for one event from the replica; throws when the stream ended early or timed out. */
  handle(result: IteratorResult<GenerationEvent>): DispatchEvent {
    this.#checkEnded(result);
    const event = result.value as GenerationEvent;
    return event.type === "done" ? this.#done(event) : this.#token(event);
  }

  next(): Promise<IteratorResult<GenerationEvent>> {
    return (this.#iterator as AsyncIterator<GenerationEvent>).next();
  }

  /**
   * Releases the attempt and closes the replica's stream, however it ended. After a `done` event too: the
   * dispatcher never reads past it, so without return() a backend generator would stay suspended at its last
   * yield, and whatever its `finally` releases (timers, listeners, sockets) would outlive the request.
   */
  async close(): Promise<void> {
    this.#release();
    await this.#iterator?.return?.();
  }

  /** Records a failed attempt (breaker), releases it, and returns the error to report. */
  fail(error: unknown): unknown {
    return this.#fail(error);
  }

  #token(event: TokenEvent): DispatchEvent {
    const { clock, progress } = this.#options;
    this.#member.tokens.add(event.tokens);
    if (this.#firstTokenMs !== undefined) return event;
    this.#firstTokenMs = event.atMs;
    clock.clearTimer(this.#firstTokenTimer);
    this.#member.ttft.observe(this.#firstTokenMs - this.#dispatchedMs, clock.now());
    progress.started = true;
    return { ...event, servedBy: this.#servedBy };
  }

  #done(event: DoneEvent): DispatchEvent {
    const { clock } = this.#options;
    // The generation is over: its timers and its listener go now, not when a consumer returns the stream.
    this.#release();
    this.#member.breaker.onSuccess(clock.now());
    const generated = event.usage.completionTokens;
    if (generated > 1 && this.#firstTokenMs !== undefined) {
      this.#member.tpot.observe((event.timings.endMs - this.#firstTokenMs) / (generated - 1), clock.now());
    }
    return { ...event, servedBy: this.#servedBy };
  }

  /** A stream that ended without a done event was aborted: by a timeout, or by the client. */
  #checkEnded(result: IteratorResult<GenerationEvent>): void {
    if (this.#timedOut !== undefined) throw this.#timedOut;
    if (!result.done) return;
    if (this.#options.signal.aborted) throw this.#options.signal.reason ?? new Error("aborted");
    throw new GatewayError("backend_error", `Replica ${this.#servedBy.replicaId} ended the stream early.`);
  }

  /** Records a failed attempt (breaker), releases it, and returns the error to report. */
  #fail(error: unknown): unknown {
    const { clock, signal } = this.#options;
    const failure = this.#timedOut ?? error;
    const breaker = this.#member.breaker;
    if (signal.aborted) breaker.onCancel(clock.now());
    else if (isRetryable(failure)) breaker.onFailure(clock.now());
    // A 4xx is the request's fault, not the replica's: release a half-open probe as a success.
    else breaker.onSuccess(clock.now());
    this.#release();
    return failure;
  }

  #expire(error: GatewayError): void {
    this.#timedOut = error;
    this.#controller.abort(error);
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    const { clock, signal } = this.#options;
    clock.clearTimer(this.#firstTokenTimer);
    clock.clearTimer(this.#totalTimer);
    signal.removeEventListener("abort", this.#onClientAbort);
    this.#member.outstanding--;
  }
}

interface AttemptOptions {
  request: GenerationRequest;
  signal: AbortSignal;
  settings: DispatchSettings;
  clock: Clock;
  progress: DispatchProgress;
}
