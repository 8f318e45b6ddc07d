import { LogHistogram } from "./histogram.js";
import { TimeSeries } from "./series.js";

/** p50/p90/p99 (and mean, count) of one latency, in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface ClassReport {
  requests: number;
  completed: number;
  /** Completed responses that met every target of the class (TTFT, TPOT, e2e). */
  sloMet: number;
  /** sloMet / requests: a shed or failed request counts as missed. */
  sloAttainment: number;
  ttftMs: LatencySummary;
  /** Per output token after the first; responses of one token have none. */
  tpotMs: LatencySummary;
  e2eMs: LatencySummary;
}

/** One finished response, as the runner saw it. */
export interface CompletedResponse {
  sloClass: string;
  /** When the response ended (virtual ms): its time bucket in the series. */
  atMs: number;
  ttftMs: number;
  /** Undefined for a one-token response. */
  tpotMs: number | undefined;
  e2eMs: number;
  sloMet: boolean;
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
  costUsd: number;
}

class ClassTally {
  requests = 0;
  completed = 0;
  sloMet = 0;
  readonly ttft = new LogHistogram();
  readonly tpot = new LogHistogram();
  readonly e2e = new LogHistogram();

  report(): ClassReport {
    return {
      requests: this.requests,
      completed: this.completed,
      sloMet: this.sloMet,
      sloAttainment: this.requests === 0 ? 0 : this.sloMet / this.requests,
      ttftMs: this.ttft.summary(),
      tpotMs: this.tpot.summary(),
      e2eMs: this.e2e.summary(),
    };
  }
}

/** Streaming aggregation of a run: counters and histograms only, so memory does not grow with requests. */
export class Tally {
  readonly #classes = new Map<string, ClassTally>();
  readonly errors: Record<string, number> = {};
  requests = 0;
  completed = 0;
  sloMet = 0;
  promptTokens = 0;
  completionTokens = 0;
  cachedPromptTokens = 0;
  /** Sum of the costs the gateway attributed to responses (their share of GPU-seconds). */
  costUsd = 0;
  /** The distribution of the cost attributed to each response. */
  readonly cost = new LogHistogram();
  readonly series: TimeSeries;

  constructor(options: { series?: TimeSeries } = {}) {
    this.series = options.series ?? new TimeSeries();
  }

  arrived(): void {
    this.requests++;
  }

  /** The request's class is known (after the guard): it counts towards that class's attainment. */
  classified(sloClass: string): void {
    this.#class(sloClass).requests++;
  }

  failed(code: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  completedResponse(response: CompletedResponse): void {
    const tally = this.#class(response.sloClass);
    this.completed++;
    tally.completed++;
    if (response.sloMet) {
      this.sloMet++;
      tally.sloMet++;
    }
    tally.ttft.record(response.ttftMs);
    if (response.tpotMs !== undefined) tally.tpot.record(response.tpotMs);
    tally.e2e.record(response.e2eMs);
    this.promptTokens += response.promptTokens;
    this.completionTokens += response.completionTokens;
    this.cachedPromptTokens += response.cachedPromptTokens;
    this.costUsd += response.costUsd;
    this.cost.record(response.costUsd);
    this.series.recordResponse(response);
  }

  classes(): Record<string, ClassReport> {
    const names = [...this.#classes.keys()].sort();
    return Object.fromEntries(names.map((name) => [name, this.#classes.get(name)!.report()]));
  }

  #class(name: string): ClassTally {
    let tally = this.#classes.get(name);
    if (tally === undefined) {
      tally = new ClassTally();
      this.#classes.set(name, tally);
    }
    return tally;
  }
}
