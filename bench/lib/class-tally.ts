import { LatencyHistogram, type LatencySummary } from "./histogram.js";

/** How one request of an SLO class ended. */
export interface ClassOutcome {
  /** The class the request asked for. */
  sloClass: string;
  /** HTTP status; 0 when no response arrived. */
  status: number;
  /** Client-side time to first token of a 200 stream. */
  ttftMs?: number;
  /** The gateway's verdict from the final chunk: every target of the class met. */
  sloMet?: boolean;
  /** Of a 503 or 429. */
  retryAfterSeconds?: number;
  /** Transport failure, or a 200 whose stream was cut short or carried no verdict. */
  error?: string;
}

/** One class of one run. Rates are shares of `sent`; attainment is a share of `admitted`. */
export interface ClassSummary {
  sent: number;
  /** 200 responses read to the end with a verdict. */
  admitted: number;
  /** 503 (shed, dropped, displaced) and 429 (tenant share) answers. */
  shed: number;
  shedRate: number;
  /** Other statuses, transport failures and unusable 200 streams. */
  errors: number;
  /** Sent but not settled when the run ended (aborted at the drain deadline). */
  unfinished: number;
  /** Admitted responses that met every target of their class. */
  met: number;
  attainment: number;
  /** `met` per second of the run. */
  goodput: number;
  /** TTFT of admitted responses. */
  ttft: LatencySummary;
  /** Retry-After seconds of the shed answers, value -> count. */
  retryAfter: Record<string, number>;
}

interface Counts {
  sent: number;
  admitted: number;
  shed: number;
  errors: number;
  met: number;
  ttft: LatencyHistogram;
  retryAfter: Record<string, number>;
}

/** Per-class counts of an open-loop run: what the load generator saw, class by class. */
export class ClassTally {
  readonly #classes = new Map<string, Counts>();

  /** Counts a request when it is sent (so one never answered still shows as unfinished). */
  sent(sloClass: string): void {
    this.#counts(sloClass).sent++;
  }

  record(outcome: ClassOutcome): void {
    const c = this.#counts(outcome.sloClass);
    if (outcome.status === 503 || outcome.status === 429) {
      c.shed++;
      const key = outcome.retryAfterSeconds === undefined ? "none" : String(outcome.retryAfterSeconds);
      c.retryAfter[key] = (c.retryAfter[key] ?? 0) + 1;
      return;
    }
    if (outcome.status !== 200 || outcome.error !== undefined || outcome.sloMet === undefined) {
      c.errors++;
      return;
    }
    c.admitted++;
    if (outcome.sloMet) c.met++;
    if (outcome.ttftMs !== undefined) c.ttft.record(outcome.ttftMs);
  }

  /** Every class seen, in the order first seen; `durationMs` is the run's, for goodput. */
  summary(durationMs: number): Record<string, ClassSummary> {
    const share = (n: number, of: number) => (of > 0 ? n / of : 0);
    const out: Record<string, ClassSummary> = {};
    for (const [name, c] of this.#classes) {
      out[name] = {
        sent: c.sent,
        admitted: c.admitted,
        shed: c.shed,
        shedRate: share(c.shed, c.sent),
        errors: c.errors,
        unfinished: Math.max(0, c.sent - c.admitted - c.shed - c.errors),
        met: c.met,
        attainment: share(c.met, c.admitted),
        goodput: durationMs > 0 ? (c.met * 1000) / durationMs : 0,
        ttft: c.ttft.summary(),
        retryAfter: { ...c.retryAfter },
      };
    }
    return out;
  }

  #counts(sloClass: string): Counts {
    let c = this.#classes.get(sloClass);
    if (c === undefined) {
      c = { sent: 0, admitted: 0, shed: 0, errors: 0, met: 0, ttft: new LatencyHistogram(), retryAfter: {} };
      this.#classes.set(sloClass, c);
    }
    return c;
  }
}
