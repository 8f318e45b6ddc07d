import { type Clock, sleep } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import type { Random } from "../core/random.js";
import type { DoneEvent, GenerationEvent, GenerationRequest, TokenEvent } from "../core/types.js";
import { backoffDelayMs } from "./backoff.js";
import type { PoolMember, ReplicaPool } from "./pool.js";
import type { RetryBudget } from "./retry-budget.js";
import { isRetryable } from "./retry-policy.js";
import type { RouteRequest } from "./types.js";

/** Where a generation ran: sent back in headers and the response's `model`. */
export interface ServedBy {
  model: string;
  deployment: string;
  replicaId: string;
}

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
    try {
      yield* attemptOn(member, options);
      return;
    } catch (error) {
      if (progress.started || signal.aborted || !isRetryable(error)) throw error;
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

async function* attemptOn(
  member: PoolMember,
  options: {
    request: GenerationRequest;
    signal: AbortSignal;
    settings: DispatchSettings;
    clock: Clock;
    progress: DispatchProgress;
  },
): AsyncGenerator<DispatchEvent> {
  const { clock, settings, progress } = options;
  const { replica } = member.backend;
  const servedBy: ServedBy = { model: replica.model, deployment: replica.deployment, replicaId: replica.id };
  const controller = new AbortController();
  let timedOut: GatewayError | undefined;
  const expire = (error: GatewayError) => {
    timedOut = error;
    controller.abort(error);
  };
  const onClientAbort = () => controller.abort(options.signal.reason);
  options.signal.addEventListener("abort", onClientAbort, { once: true });
  const dispatchedMs = clock.now();
  const firstTokenTimer = clock.setTimer(settings.firstTokenMs, () =>
    expire(
      new GatewayError("timeout", `Replica ${replica.id} sent no token within ${settings.firstTokenMs} ms.`, {
        retryable: true,
      }),
    ),
  );
  const totalTimer = clock.setTimer(settings.totalMs, () =>
    expire(
      new GatewayError("timeout", `Replica ${replica.id} did not finish within ${settings.totalMs} ms.`, {
        retryable: !progress.started,
      }),
    ),
  );
  let firstTokenMs: number | undefined;
  member.outstanding++;
  try {
    const events: AsyncIterable<GenerationEvent> = member.backend.generate(
      options.request,
      controller.signal,
    );
    for await (const event of events) {
      if (timedOut !== undefined) throw timedOut;
      if (event.type === "token") {
        member.tokens.add(event.tokens);
        if (firstTokenMs === undefined) {
          firstTokenMs = event.atMs;
          clock.clearTimer(firstTokenTimer);
          member.ttft.observe(firstTokenMs - dispatchedMs, clock.now());
          progress.started = true;
          yield { ...event, servedBy };
        } else yield event;
        continue;
      }
      member.breaker.onSuccess(clock.now());
      const generated = event.usage.completionTokens;
      if (generated > 1 && firstTokenMs !== undefined) {
        member.tpot.observe((event.timings.endMs - firstTokenMs) / (generated - 1), clock.now());
      }
      yield { ...event, servedBy };
      return;
    }
    // The backend ended without a done event: it was aborted (by a timeout, or by the client).
    if (timedOut !== undefined) throw timedOut;
    if (options.signal.aborted) member.breaker.onCancel(clock.now());
    if (!options.signal.aborted)
      throw new GatewayError("backend_error", `Replica ${replica.id} ended the stream early.`);
  } catch (error) {
    const failure = timedOut ?? error;
    if (options.signal.aborted) member.breaker.onCancel(clock.now());
    else {
      if (isRetryable(failure)) member.breaker.onFailure(clock.now());
      // A 4xx is the request's fault, not the replica's: release a half-open probe as a success.
      else member.breaker.onSuccess(clock.now());
    }
    throw failure;
  } finally {
    clock.clearTimer(firstTokenTimer);
    clock.clearTimer(totalTimer);
    options.signal.removeEventListener("abort", onClientAbort);
    member.outstanding--;
  }
}
