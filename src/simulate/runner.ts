import { pino } from "pino";
import { type Composed, compose } from "../compose.js";
import type { Config } from "../config/schema.js";
import { flushMicrotasks, VirtualClock } from "../core/clock.js";
import { GatewayError } from "../core/errors.js";
import type { ServedDoneEvent } from "../core/types.js";
import type { Admission } from "../guard/guard.js";
import type { SimulationProgress } from "./progress.js";
import { clientAddress, replicaSpendUsd, simulationConfig } from "./run-setup.js";
import { type Series, TimeSeries } from "./series.js";
import { StateSampler } from "./state-sampler.js";
import { type ClassReport, Tally } from "./tally.js";
import { type Arrival, arrivals, type WorkloadSpec } from "./workload.js";

export interface SimulateOptions {
  config: Config;
  workload: WorkloadSpec;
  /** Seeds the workload (arrival times, lengths, text, classes); the engines use `config.seed`. */
  seed: number;
  /**
   * Pass every request through the guard as an anonymous client at 10.x.y.z (one address per workload client),
   * with the config's limits and challenges (default true). A client the guard challenges does not solve the
   * puzzle: the request counts as a `challenge_required` error.
   */
  guard?: boolean;
  /**
   * Called with each completed response (for comparisons with a live run); the report itself keeps no
   * per-request record.
   */
  onResponse?: (response: SimulatedResponse) => void;
  /**
   * Simulated seconds allowed after the last arrival for the requests in flight to finish (default 3600); those
   * still running are aborted and counted as `unfinished`.
   */
  drainLimitS?: number;
  /**
   * Replayed arrivals (traceArrivals in trace.ts) instead of `arrivals(workload, seed)`; `workload` then gives
   * only the model and temperature.
   */
  arrivals?: AsyncIterable<Arrival>;
  /** Called as the run goes (at each arrival and step of the drain); throttling is the caller's job. */
  onProgress?: (progress: SimulationProgress) => void;
  /** Time series buckets: width to start with (default 1000 ms) and cap (default 600; pairs merge past it). */
  series?: { bucketMs?: number; maxBuckets?: number };
}

/** One completed response, as a live client would see it. */
export interface SimulatedResponse {
  /** The arrival's index in the workload. */
  index: number;
  replicaId: string;
  promptTokens: number;
  completionTokens: number;
  ttftMs: number;
  e2eMs: number;
}

export interface SimulationReport {
  requests: number;
  completed: number;
  /** Failed requests by GatewayError code (`overloaded`, `rate_limit_exceeded`, ...). */
  errors: Record<string, number>;
  classes: Record<string, ClassReport>;
  /** Responses that met their SLO class's targets. */
  sloMet: number;
  sloAttainment: number;
  /** sloMet per second of simulated time. */
  goodputPerSecond: number;
  tokens: { prompt: number; completion: number; cachedPrompt: number };
  /** Completion tokens per second of simulated time. */
  throughputTokensPerSecond: number;
  cost: {
    /** Mean of the cost the gateway attributed to each completed response (its share of GPU-seconds). */
    meanPerResponseUsd: number;
    /** Sum of the attributed costs. */
    attributedUsd: number;
    /** What the replicas cost over the run, busy or idle (tollgate_replica_spend_usd_total). */
    spendUsd: number;
    /** The attributed cost per response, as up to 30 log-spaced bins (USD). */
    perResponseBins: Array<{ lower: number; upper: number; count: number }>;
  };
  /** Latency, utilization, queue depth and KV-cache usage over simulated time, in at most maxBuckets buckets. */
  series: Series;
  /** From the start to the last response (at least the workload's duration). */
  simulatedSeconds: number;
  /** Wall-clock seconds the simulation took (this and peakRssBytes are what differ between identical runs). */
  wallSeconds: number;
  /** The process's peak resident memory so far (getrusage maxrss), bytes: the whole process, not this run. */
  peakRssBytes: number;
}

/**
 * Runs a workload through the real pipeline (guard, cache, admission, queue, batcher, router, simulated
 * engines, accounting) on a virtual clock, with no HTTP: time jumps from one timer to the next, so the run
 * takes as long as the CPU needs, not as long as the workload lasts. Aggregates as it goes (bounded memory).
 *
 * Every simulated deployment is set to generate until max_tokens (output.lengthMedian 1e9, sigma 0), so each
 * response has exactly the workload's output length. HTTP upstreams in the config are left as they are.
 */
export async function simulate(options: SimulateOptions): Promise<SimulationReport> {
  const wallStart = performance.now();
  const clock = new VirtualClock();
  const composed = compose({
    config: simulationConfig(options.config),
    clock,
    logger: pino({ level: "silent" }),
    processMetrics: false,
  });
  await composed.ready();
  const series = new TimeSeries(options.series);
  const tally = new Tally({ series });
  const sampler = new StateSampler({ composed, series });
  const totalS = options.arrivals ? undefined : options.workload.durationS;
  // Advances in steps that stop at each bucket boundary, to sample the state there.
  const advanceTo = async (targetMs: number) => {
    for (
      let at = series.nextBoundaryMs(clock.now());
      at <= targetMs;
      at = series.nextBoundaryMs(clock.now())
    ) {
      await clock.advance(at - clock.now());
      sampler.sample(at);
    }
    await clock.advance(targetMs - clock.now());
    const { requests, completed } = tally;
    options.onProgress?.({ simulatedS: clock.now() / 1000, totalS, requests, completed });
  };
  const inFlight = new Set<AbortController>();
  const serve = (arrival: Arrival) => {
    const controller = new AbortController();
    inFlight.add(controller);
    const { prompt: text, promptIds: ids, ...rest } = arrival;
    void serveOne({
      composed,
      arrival: rest,
      prompt: { text, ids },
      options,
      tally,
      signal: controller.signal,
    }).finally(() => inFlight.delete(controller));
  };

  let simulatedMs: number;
  let spendUsd: number;
  try {
    for await (const arrival of options.arrivals ?? arrivals(options.workload, options.seed)) {
      await advanceTo(arrival.atMs);
      serve(arrival);
    }
    const drainUntil = clock.now() + (options.drainLimitS ?? 3600) * 1000;
    await flushMicrotasks();
    while (inFlight.size > 0) {
      const at = clock.nextTimerAt();
      if (at === undefined || at > drainUntil) break;
      await advanceTo(at);
    }
    simulatedMs = Math.max(clock.now(), options.arrivals ? 0 : options.workload.durationS * 1000);
    // The last, partial interval; the clock is not moved on (that would change the replicas' spend).
    sampler.sample(clock.now());
    if (inFlight.size > 0) tally.errors["unfinished"] = inFlight.size;
    spendUsd = await replicaSpendUsd(composed);
  } finally {
    // A bad trace line (or any failure) midway still releases the replicas, timers and store.
    for (const controller of inFlight) controller.abort(new Error("simulation ended"));
    await composed.close();
  }

  const seconds = simulatedMs / 1000;
  return {
    requests: tally.requests,
    completed: tally.completed,
    errors: tally.errors,
    classes: tally.classes(),
    sloMet: tally.sloMet,
    sloAttainment: tally.requests === 0 ? 0 : tally.sloMet / tally.requests,
    goodputPerSecond: tally.sloMet / seconds,
    tokens: {
      prompt: tally.promptTokens,
      completion: tally.completionTokens,
      cachedPrompt: tally.cachedPromptTokens,
    },
    throughputTokensPerSecond: tally.completionTokens / seconds,
    cost: {
      meanPerResponseUsd: tally.completed === 0 ? 0 : tally.costUsd / tally.completed,
      attributedUsd: tally.costUsd,
      spendUsd,
      perResponseBins: tally.cost.bins(30),
    },
    series: series.series(simulatedMs),
    simulatedSeconds: seconds,
    wallSeconds: (performance.now() - wallStart) / 1000,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/** One request end to end, as the chat route would run it, minus HTTP; records the outcome in `tally`. */
async function serveOne(input: {
  composed: Composed;
  /** The arrival; its prompt is dropped from here once the request is built (see below). */
  arrival: Omit<Arrival, "prompt" | "promptIds">;
  prompt: { text: string; ids: readonly number[] } | undefined;
  options: SimulateOptions;
  tally: Tally;
  signal: AbortSignal;
}): Promise<void> {
  const { composed, arrival, options, tally, signal } = input;
  const { pipeline, gateway } = composed;
  let admission: Admission | undefined;
  tally.arrived();
  try {
    try {
      if (options.guard ?? true)
        admission = await composed.guard.admit({ peer: clientAddress(arrival.client) });
    } catch (error) {
      // A request the guard turns away still counts against the class it asked for.
      tally.classified(pipeline.sloClass(arrival.sloClass).name);
      throw error;
    }
    const sloClass = pipeline.sloClass(arrival.sloClass, admission?.identity.sloClass).name;
    tally.classified(sloClass);
    const identity = admission?.identity;
    const prompt = input.prompt;
    if (prompt === undefined) throw new Error("serveOne: the prompt was already taken");
    // The request holds its own token ids from here; the arrival's copy would only outlive it in this frame
    // (live requests' copies are what minor collections spend their time on).
    input.prompt = undefined;
    const request = await gateway.prepare({
      kind: "chat",
      requestId: `sim-${arrival.index}`,
      model: options.workload.model,
      messages: [{ role: "user", content: prompt.text }],
      contentTokens: [prompt.ids],
      sampling: {
        maxTokens: arrival.outputTokens,
        temperature: options.workload.temperature,
        topP: 1,
        stop: [],
        seed: undefined,
      },
      sloClass,
      ...(identity !== undefined && {
        tenant: identity.kind === "key" ? identity.tenant : identity.subject,
        tier: identity.tier,
      }),
    });
    await admission?.admitTokens(request.promptTokens.length);
    // Nobody reads the stream here: the engine hands over the first token, then the rest at once.
    request.coalesceTokens = true;
    const opened = await pipeline.open(request, {
      signal,
      directives: { noCache: false, noStore: false },
      onDone: (done) => admission?.charge(done.usage.completionTokens),
    });
    let firstTokenMs: number | undefined;
    let done: ServedDoneEvent | undefined;
    for await (const event of opened.events) {
      if (event.type === "token") firstTokenMs ??= event.atMs;
      else done = event;
    }
    if (done === undefined) throw new GatewayError("internal_error", "generation ended without a done event");
    const endMs = done.timings.endMs;
    const firstMs = firstTokenMs ?? endMs;
    const completionTokens = done.usage.completionTokens;
    tally.completedResponse({
      sloClass,
      atMs: endMs,
      ttftMs: firstMs - request.arrivalMs,
      tpotMs: completionTokens > 1 ? (endMs - firstMs) / (completionTokens - 1) : undefined,
      e2eMs: endMs - request.arrivalMs,
      sloMet: done.slo?.met ?? false,
      promptTokens: done.usage.promptTokens,
      completionTokens,
      cachedPromptTokens: done.usage.cachedPromptTokens,
      costUsd: done.costUsd,
    });
    options.onResponse?.({
      index: arrival.index,
      replicaId: done.servedBy.replicaId,
      promptTokens: done.usage.promptTokens,
      completionTokens,
      ttftMs: firstMs - request.arrivalMs,
      e2eMs: endMs - request.arrivalMs,
    });
  } catch (error) {
    tally.failed(error instanceof GatewayError ? error.code : "internal_error");
  } finally {
    await admission?.release();
  }
}
