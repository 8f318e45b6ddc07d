import { LogHistogram } from "./histogram.js";

/** One time bucket of a run, as the JSON report and the HTML charts show it. */
export interface SeriesPoint {
  /** Start of the bucket, simulated seconds from the start of the run. */
  startS: number;
  durationS: number;
  /** Responses that finished in the bucket (latencies are recorded when a response ends). */
  completed: number;
  ttftP50Ms: number;
  ttftP99Ms: number;
  e2eP50Ms: number;
  e2eP99Ms: number;
  /** Busy replica-seconds (engine steps running) / replica-seconds in the bucket, 0-1. */
  utilization: number;
  /** Requests waiting in the gateway's queues (all models and classes), sampled at the bucket's boundaries. */
  queueDepthMean: number;
  queueDepthMax: number;
  /** Requests waiting inside the replicas' own engine queues (summed), sampled at the bucket's boundaries. */
  engineWaitingMean: number;
  engineWaitingMax: number;
  /** Share of KV-cache blocks in use, averaged over the replicas, sampled at the boundaries. */
  kvCacheUsageMean: number;
  /** The fullest replica's KV-cache share at any sample in the bucket. */
  kvCacheUsageMax: number;
}

export interface Series {
  bucketSeconds: number;
  points: SeriesPoint[];
}

/** The state at one sampling instant, covering the interval since the previous one. */
export interface StateSample {
  /** The start of the interval the sample covers (ms); its busy time belongs to the bucket holding this. */
  fromMs: number;
  /** Engine busy seconds summed over the replicas during the interval. */
  busySeconds: number;
  /** Replica-seconds in the interval (replicas x interval length). */
  replicaSeconds: number;
  queueDepth: number;
  /** Requests waiting in the replicas' engine queues, summed. */
  engineWaiting: number;
  kvCacheUsageMean: number;
  kvCacheUsageMax: number;
}

/** Per-bucket latencies need less precision than the run's totals: 2% keeps each sketch to a few dozen entries. */
const BUCKET_RELATIVE_ERROR = 0.02;

class Bucket {
  completed = 0;
  readonly ttft = new LogHistogram({ relativeError: BUCKET_RELATIVE_ERROR });
  readonly e2e = new LogHistogram({ relativeError: BUCKET_RELATIVE_ERROR });
  busySeconds = 0;
  replicaSeconds = 0;
  samples = 0;
  queueSum = 0;
  queueMax = 0;
  engineWaitingSum = 0;
  engineWaitingMax = 0;
  kvSum = 0;
  kvMax = 0;

  merge(other: Bucket): void {
    this.completed += other.completed;
    this.ttft.merge(other.ttft);
    this.e2e.merge(other.e2e);
    this.busySeconds += other.busySeconds;
    this.replicaSeconds += other.replicaSeconds;
    this.samples += other.samples;
    this.queueSum += other.queueSum;
    this.queueMax = Math.max(this.queueMax, other.queueMax);
    this.engineWaitingSum += other.engineWaitingSum;
    this.engineWaitingMax = Math.max(this.engineWaitingMax, other.engineWaitingMax);
    this.kvSum += other.kvSum;
    this.kvMax = Math.max(this.kvMax, other.kvMax);
  }
}

/**
 * A bounded time series: buckets of a fixed width from time 0; when a time lands past the last of `maxBuckets`,
 * neighbouring buckets merge in pairs and the width doubles, so memory is O(maxBuckets) however long the run,
 * and sums (responses, busy time) survive every merge.
 */
export class TimeSeries {
  readonly #maxBuckets: number;
  #widthMs: number;
  #buckets: Bucket[] = [];

  constructor(options: { bucketMs?: number; maxBuckets?: number } = {}) {
    this.#widthMs = options.bucketMs ?? 1000;
    this.#maxBuckets = options.maxBuckets ?? 600;
    if (!(this.#widthMs > 0)) throw new RangeError(`bucketMs must be > 0, got ${this.#widthMs}`);
    if (!(Number.isInteger(this.#maxBuckets) && this.#maxBuckets >= 2))
      throw new RangeError(`maxBuckets must be an integer >= 2, got ${this.#maxBuckets}`);
  }

  get bucketMs(): number {
    return this.#widthMs;
  }

  get length(): number {
    return this.#buckets.length;
  }

  /** The first bucket boundary after `nowMs`: where the runner takes its next state sample. */
  nextBoundaryMs(nowMs: number): number {
    return (Math.floor(nowMs / this.#widthMs) + 1) * this.#widthMs;
  }

  recordResponse(response: { atMs: number; ttftMs: number; e2eMs: number }): void {
    const bucket = this.#at(response.atMs);
    bucket.completed++;
    bucket.ttft.record(response.ttftMs);
    bucket.e2e.record(response.e2eMs);
  }

  recordState(sample: StateSample): void {
    const bucket = this.#at(sample.fromMs);
    bucket.busySeconds += sample.busySeconds;
    bucket.replicaSeconds += sample.replicaSeconds;
    bucket.samples++;
    bucket.queueSum += sample.queueDepth;
    bucket.queueMax = Math.max(bucket.queueMax, sample.queueDepth);
    bucket.engineWaitingSum += sample.engineWaiting;
    bucket.engineWaitingMax = Math.max(bucket.engineWaitingMax, sample.engineWaiting);
    bucket.kvSum += sample.kvCacheUsageMean;
    bucket.kvMax = Math.max(bucket.kvMax, sample.kvCacheUsageMax);
  }

  /** The buckets up to `untilMs` (default: the last one used). */
  series(untilMs?: number): Series {
    if (untilMs !== undefined && untilMs > 0) this.#at(untilMs - 1e-9);
    const width = this.#widthMs;
    const count = untilMs === undefined ? this.#buckets.length : Math.ceil(untilMs / width);
    const points: SeriesPoint[] = [];
    for (let i = 0; i < Math.min(count, this.#maxBuckets); i++) {
      const b = this.#buckets[i] ?? new Bucket();
      points.push({
        startS: (i * width) / 1000,
        durationS: width / 1000,
        completed: b.completed,
        ttftP50Ms: b.ttft.quantile(0.5),
        ttftP99Ms: b.ttft.quantile(0.99),
        e2eP50Ms: b.e2e.quantile(0.5),
        e2eP99Ms: b.e2e.quantile(0.99),
        utilization: b.replicaSeconds === 0 ? 0 : Math.min(1, b.busySeconds / b.replicaSeconds),
        queueDepthMean: b.samples === 0 ? 0 : b.queueSum / b.samples,
        queueDepthMax: b.queueMax,
        engineWaitingMean: b.samples === 0 ? 0 : b.engineWaitingSum / b.samples,
        engineWaitingMax: b.engineWaitingMax,
        kvCacheUsageMean: b.samples === 0 ? 0 : b.kvSum / b.samples,
        kvCacheUsageMax: b.kvMax,
      });
    }
    return { bucketSeconds: width / 1000, points };
  }

  #at(atMs: number): Bucket {
    let index = Math.max(0, Math.floor(atMs / this.#widthMs));
    while (index >= this.#maxBuckets) {
      this.#halve();
      index = Math.max(0, Math.floor(atMs / this.#widthMs));
    }
    while (this.#buckets.length <= index) this.#buckets.push(new Bucket());
    return this.#buckets[index]!;
  }

  /** Merges buckets 2i and 2i+1 into i and doubles the width. */
  #halve(): void {
    const merged: Bucket[] = [];
    for (let i = 0; i < this.#buckets.length; i += 2) {
      const first = this.#buckets[i]!;
      const second = this.#buckets[i + 1];
      if (second !== undefined) first.merge(second);
      merged.push(first);
    }
    this.#buckets = merged;
    this.#widthMs *= 2;
  }
}
