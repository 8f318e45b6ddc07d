import { setMaxListeners } from "node:events";
import { type Clock, SystemClock, type TimerHandle } from "../../src/core/clock.js";
import { SeededRandom } from "../../src/core/random.js";
import { type ArrivalKind, arrivalOffsetsMs } from "./arrivals.js";
import { LatencyHistogram, type LatencySummary } from "./histogram.js";
import { createHttpSender, DEFAULT_PATH } from "./http-sender.js";
import type { Sender } from "./sender.js";
import type { WorkloadRequest } from "./workload.js";

export interface OpenLoopOptions {
  /** Origin of the server under test, used by the default sender. */
  baseUrl: string;
  /** Default `/v1/chat/completions`. */
  path?: string;
  /** Offered requests per second. */
  rate: number;
  /** Requests are offered during [0, durationMs); the run then drains for up to `drainTimeoutMs`. */
  durationMs: number;
  arrivals: ArrivalKind;
  /** Seeds the arrival schedule (the workload has its own seed). */
  seed: number;
  /** Called at each send; the workload generator costs ~0.1 ms per 1,500-token request. */
  next: () => WorkloadRequest;
  /** Default {@link SystemClock}. */
  clock?: Clock;
  /** Default: an undici Pool of `connections` keep-alive connections (see http-sender.ts). */
  send?: Sender;
  /** Connections of the default sender; default 64. */
  connections?: number;
  /** Arrivals that find this many requests in flight are dropped and counted; default 10,000. */
  maxInFlight?: number;
  /** How long to wait after the last arrival for in-flight requests; default 30,000 ms. */
  drainTimeoutMs?: number;
  /**
   * Called once per request that settles before the drain deadline (errors included, unfinished ones not), for
   * per-request measures the summary cannot give (SLO attainment, time per output token). Must not throw.
   */
  onRequest?: (sample: RequestSample) => void;
}

/** One settled request, as {@link OpenLoopOptions.onRequest} sees it; times run from the intended send time. */
export interface RequestSample {
  /** HTTP status; 0 when no response arrived. */
  status: number;
  /** A 2xx status with a usable body: the requests that count in the latencies. */
  ok: boolean;
  /** Set when the request counted as an error (transport failure, rejected send, unusable 2xx body). */
  error?: string;
  /** Time to first token (streams) or first body byte (JSON); undefined when none arrived. */
  ttftMs: number | undefined;
  /** Time to the end of the body. */
  e2eMs: number;
  completionTokens: number;
}

/**
 * Counts obey `offered = sent + dropped` and `sent = completed + errors + unfinished`;
 * `ok` and `statusCounts` are among `completed` (requests that got an HTTP response and a usable body).
 */
export interface OpenLoopResult {
  offered: number;
  sent: number;
  completed: number;
  /** Completed with a 2xx status. */
  ok: number;
  /** Completed requests by HTTP status. */
  statusCounts: Record<string, number>;
  /** Transport failures, rejected sends, and 2xx bodies that were cut short or malformed. */
  errors: number;
  /** Error messages and how often each occurred (at most {@link MAX_ERROR_KINDS} kinds, then "other"). */
  errorCounts: Record<string, number>;
  /** Not sent because `maxInFlight` requests were already in flight. */
  dropped: number;
  /** Still in flight when the drain timeout expired; aborted and left out of the latencies. */
  unfinished: number;
  /** From the first arrival's intended time until the last response (or the drain deadline). */
  durationMs: number;
  /** Requests sent per second of the schedule (lower than `rate` only if the sender fell behind). */
  achievedRate: number;
  /** 2xx responses per second of `durationMs`. */
  requestsPerSecond: number;
  /** Completion tokens of 2xx responses per second of `durationMs`. */
  completionTokensPerSecond: number;
  /** Worst lateness of a send against its intended time: a large value means the load generator saturated. */
  maxSendLagMs: number;
  /** Time to first token of 2xx responses, from the intended send time. */
  ttft: LatencySummary;
  /** Time to the end of the body of 2xx responses, from the intended send time. */
  e2e: LatencySummary;
}

export const MAX_ERROR_KINDS = 20;
const DEFAULT_MAX_IN_FLIGHT = 10_000;
const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
/** Timer arithmetic in floating point can land a hair before an offset; treat that as on time. */
const EPSILON_MS = 1e-6;

/**
 * Offers load at a fixed rate, whatever the server's speed: an open-loop generator, as a population of
 * independent users is. Latency runs from each request's *intended* send time, so if the sender or the event
 * loop stalls, the wait counts against the server's latency instead of silently thinning the load (Gil Tene's
 * "coordinated omission", How NOT to Measure Latency, 2013).
 *
 * On each timer tick every arrival whose offset has come is sent, then one timer is set for the next: timers
 * are coarse (>= 1 ms under Node), so at 1,000+ requests/s several go out per tick and the pace still holds.
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  if (!(Number.isInteger(maxInFlight) && maxInFlight >= 1)) {
    throw new RangeError(`maxInFlight must be an integer >= 1, got ${maxInFlight}`);
  }
  if (!(Number.isFinite(drainTimeoutMs) && drainTimeoutMs >= 0)) {
    throw new RangeError(`drainTimeoutMs must be a number >= 0, got ${drainTimeoutMs}`);
  }
  const offsets = arrivalOffsetsMs({
    rate: options.rate,
    durationMs: options.durationMs,
    kind: options.arrivals,
    random: new SeededRandom(options.seed),
  });
  const http =
    options.send === undefined
      ? createHttpSender({
          baseUrl: options.baseUrl,
          path: options.path ?? DEFAULT_PATH,
          ...(options.connections === undefined ? {} : { connections: options.connections }),
        })
      : undefined;
  const send = options.send ?? http!.send;
  try {
    return await drive({
      clock: options.clock ?? new SystemClock(),
      offsets,
      send,
      next: options.next,
      maxInFlight,
      drainTimeoutMs,
      scheduleMs: options.durationMs,
      onRequest: options.onRequest,
    });
  } finally {
    await http?.close();
  }
}

interface DriveOptions {
  clock: Clock;
  offsets: Iterator<number, void>;
  send: Sender;
  next: () => WorkloadRequest;
  maxInFlight: number;
  drainTimeoutMs: number;
  scheduleMs: number;
  onRequest: ((sample: RequestSample) => void) | undefined;
}

function drive(o: DriveOptions): Promise<OpenLoopResult> {
  const { clock } = o;
  const start = clock.now();
  const abort = new AbortController();
  // Every in-flight request listens on this one signal: thousands of listeners are expected, not a leak.
  setMaxListeners(0, abort.signal);
  const ttft = new LatencyHistogram();
  const e2e = new LatencyHistogram();
  const statusCounts: Record<string, number> = {};
  const errorCounts: Record<string, number> = {};
  let offered = 0;
  let sent = 0;
  let completed = 0;
  let ok = 0;
  let errors = 0;
  let dropped = 0;
  let inFlight = 0;
  let completionTokens = 0;
  let maxSendLagMs = 0;
  let lastSendAt = start;
  let scheduleDone = false;
  let finished = false;
  let drainTimer: TimerHandle | undefined;

  return new Promise((resolve) => {
    const finish = () => {
      if (finished) return;
      finished = true;
      if (drainTimer !== undefined) clock.clearTimer(drainTimer);
      abort.abort(new Error("open-loop run ended"));
      const durationMs = clock.now() - start;
      const perSecond = (n: number) => (durationMs > 0 ? (n * 1000) / durationMs : 0);
      const sendWindowMs = Math.max(o.scheduleMs, lastSendAt - start);
      resolve({
        offered,
        sent,
        completed,
        ok,
        statusCounts,
        errors,
        errorCounts,
        dropped,
        unfinished: inFlight,
        durationMs,
        achievedRate: sendWindowMs > 0 ? (sent * 1000) / sendWindowMs : 0,
        requestsPerSecond: perSecond(ok),
        completionTokensPerSecond: perSecond(completionTokens),
        maxSendLagMs,
        ttft: ttft.summary(),
        e2e: e2e.summary(),
      });
    };

    const countError = (message: string) => {
      errors++;
      const kinds = Object.keys(errorCounts).length;
      const key = message in errorCounts || kinds < MAX_ERROR_KINDS ? message : "other";
      errorCounts[key] = (errorCounts[key] ?? 0) + 1;
    };

    const settle = (
      intendedAt: number,
      firstByteAt: number | undefined,
      outcome: { status: number; completionTokens: number; error?: string },
    ) => {
      if (finished) return; // answered after the drain deadline: already counted as unfinished
      inFlight--;
      const e2eMs = Math.max(0, clock.now() - intendedAt);
      const ttftMs = firstByteAt === undefined ? undefined : Math.max(0, firstByteAt - intendedAt);
      let succeeded = false;
      if (outcome.error !== undefined) {
        countError(outcome.error);
      } else {
        completed++;
        const status = String(outcome.status);
        statusCounts[status] = (statusCounts[status] ?? 0) + 1;
        if (outcome.status >= 200 && outcome.status < 300) {
          succeeded = true;
          ok++;
          completionTokens += outcome.completionTokens;
          e2e.record(e2eMs);
          if (ttftMs !== undefined) ttft.record(ttftMs);
        }
      }
      if (o.onRequest !== undefined) {
        const sample: RequestSample = {
          status: outcome.status,
          ok: succeeded,
          ttftMs,
          e2eMs,
          completionTokens: outcome.error === undefined ? outcome.completionTokens : 0,
        };
        if (outcome.error !== undefined) sample.error = outcome.error;
        o.onRequest(sample);
      }
      if (scheduleDone && inFlight === 0) finish();
    };

    const dispatch = (offsetMs: number) => {
      offered++;
      if (inFlight >= o.maxInFlight) {
        dropped++;
        return;
      }
      const intendedAt = start + offsetMs;
      const now = clock.now();
      maxSendLagMs = Math.max(maxSendLagMs, now - intendedAt);
      lastSendAt = now;
      sent++;
      inFlight++;
      let firstByteAt: number | undefined;
      const onFirstByte = () => {
        firstByteAt ??= clock.now();
      };
      // An async wrapper turns a sender that throws synchronously into a rejection.
      const call = async () => o.send(o.next(), onFirstByte, abort.signal);
      call().then(
        (outcome) => settle(intendedAt, firstByteAt, outcome),
        (error: unknown) =>
          settle(intendedAt, firstByteAt, {
            status: 0,
            completionTokens: 0,
            error: error instanceof Error ? error.message : String(error),
          }),
      );
    };

    let upcoming = o.offsets.next();
    const tick = () => {
      const elapsed = clock.now() - start;
      while (!upcoming.done && upcoming.value <= elapsed + EPSILON_MS) {
        dispatch(upcoming.value);
        upcoming = o.offsets.next();
      }
      if (!upcoming.done) {
        clock.setTimer(upcoming.value - elapsed, tick);
        return;
      }
      scheduleDone = true;
      if (inFlight === 0) finish();
      else drainTimer = clock.setTimer(Math.max(0, o.scheduleMs - elapsed) + o.drainTimeoutMs, finish);
    };
    tick();
  });
}
