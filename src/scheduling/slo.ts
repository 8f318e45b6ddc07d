import type { SloClassConfig } from "../config/schema.js";
import { GatewayError } from "../core/errors.js";

/** A named SLO class (config `scheduling.classes`). */
export interface SloClass extends SloClassConfig {
  name: string;
}

/** How one response did against its class's targets. */
export interface SloVerdict {
  class: string;
  ttft: boolean;
  tpot: boolean;
  e2e: boolean;
  /** Every target met: the response counts towards goodput. */
  met: boolean;
}

export class SloClasses {
  readonly #byName: ReadonlyMap<string, SloClass>;
  readonly defaultClass: SloClass;
  /** Highest priority first. */
  readonly ordered: readonly SloClass[];

  constructor(classes: Readonly<Record<string, SloClassConfig>>, defaultName: string) {
    this.#byName = new Map(Object.entries(classes).map(([name, c]) => [name, { ...c, name }]));
    const fallback = this.#byName.get(defaultName);
    if (fallback === undefined) throw new RangeError(`SLO class "${defaultName}" is not defined`);
    this.defaultClass = fallback;
    this.ordered = [...this.#byName.values()].sort((a, b) => b.priority - a.priority);
  }

  get(name: string): SloClass | undefined {
    return this.#byName.get(name);
  }

  /**
   * The class a request runs in: its own (from its tenant or API key, else the default), lowered by the
   * `x-tollgate-slo-class` header when that names a class of lower or equal priority. Asking for a higher class
   * keeps the request's own (a client may give up priority, never take it). An unknown name is a 400.
   */
  resolve(requested: string | undefined, own: SloClass = this.defaultClass): SloClass {
    if (requested === undefined || requested === "") return own;
    const asked = this.#byName.get(requested.trim().toLowerCase());
    if (asked === undefined) {
      throw new GatewayError(
        "invalid_request",
        `Unknown SLO class '${requested}' in x-tollgate-slo-class; known: ${this.ordered.map((c) => c.name).join(", ")}.`,
        { param: "x-tollgate-slo-class" },
      );
    }
    return asked.priority <= own.priority ? asked : own;
  }
}

/**
 * Judges one response against its class: TTFT (arrival to first token, queueing included), TPOT ((e2e - TTFT)
 * / (tokens - 1), only defined from two tokens) and end to end. Targets are stated at a percentile for the
 * class as a whole; a single response either met each bound or did not, and attainment is the share that did.
 */
export function judge(
  slo: SloClass,
  response: { arrivalMs: number; firstTokenMs: number; endMs: number; completionTokens: number },
): SloVerdict {
  const ttftMs = response.firstTokenMs - response.arrivalMs;
  const e2eMs = response.endMs - response.arrivalMs;
  const tpotMs = response.completionTokens > 1 ? (e2eMs - ttftMs) / (response.completionTokens - 1) : 0;
  const ttft = ttftMs <= slo.ttftMs;
  const tpot = tpotMs <= slo.tpotMs;
  const e2e = e2eMs <= slo.e2eMs;
  return { class: slo.name, ttft, tpot, e2e, met: ttft && tpot && e2e };
}
