import type { Histogram } from "hdr-histogram-js";
import hdr from "hdr-histogram-js";

/** A latency distribution in milliseconds; every field is 0 when nothing was recorded. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export const EMPTY_LATENCY: Readonly<LatencySummary> = Object.freeze({
  count: 0,
  mean: 0,
  p50: 0,
  p90: 0,
  p99: 0,
  max: 0,
});

/** 1 µs .. 1 h in microseconds: the range of latencies a bench run can plausibly see. */
const LOWEST_US = 1;
const HIGHEST_US = 3_600_000_000;

/**
 * Latencies in an HdrHistogram (Gil Tene's High Dynamic Range Histogram): constant memory, and every
 * percentile within 0.1% of the true value at 3 significant digits, however many samples. Values are stored as
 * integer microseconds so sub-millisecond latencies (a cache hit, a rejection) keep their resolution.
 */
export class LatencyHistogram {
  readonly #histogram: Histogram;

  constructor() {
    // The pure-JS build: the WebAssembly one needs an async (or blocking) init before first use.
    // autoResize keeps a pathological outlier above an hour from throwing mid-run.
    this.#histogram = hdr.build({
      useWebAssembly: false,
      autoResize: true,
      lowestDiscernibleValue: LOWEST_US,
      highestTrackableValue: HIGHEST_US,
      numberOfSignificantValueDigits: 3,
    });
  }

  /** Records one latency in milliseconds (0 or more; fractions kept to the microsecond). */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`latency must be a finite number of milliseconds >= 0, got ${ms}`);
    }
    this.#histogram.recordValue(Math.round(ms * 1000));
  }

  get count(): number {
    return this.#histogram.totalCount;
  }

  summary(): LatencySummary {
    const h = this.#histogram;
    if (h.totalCount === 0) return { ...EMPTY_LATENCY };
    return {
      count: h.totalCount,
      mean: h.mean / 1000,
      p50: h.getValueAtPercentile(50) / 1000,
      p90: h.getValueAtPercentile(90) / 1000,
      p99: h.getValueAtPercentile(99) / 1000,
      max: h.maxValue / 1000,
    };
  }
}
