import { CompletionBodyReader, type CompletionBodyResult } from "./completion-body.js";

/** Tollgate's verdict on one response against its SLO class, as the final stream chunk carries it. */
export interface SloVerdict {
  sloClass: string;
  /** Every target of the class met (TTFT, TPOT and end to end). */
  met: boolean;
  ttftMet?: boolean;
  tpotMet?: boolean;
  e2eMet?: boolean;
}

export interface SloStreamResult extends CompletionBodyResult {
  /** Absent when no chunk carried a `tollgate` field (a failed stream, or a gateway without scheduling). */
  verdict?: SloVerdict;
}

/**
 * Reads a Tollgate chat stream: tokens, time to first token and `[DONE]` through {@link CompletionBodyReader},
 * plus the SLO verdict the gateway adds to the final chunk, `{"tollgate":{"slo_class","slo_met",...}}`
 * (src/http/generation-response.ts, sloField). The gateway writes each event on one `data:` line, so only
 * single-line events are searched for the verdict; a cheap substring test keeps token chunks unparsed.
 */
export class SloStreamReader {
  readonly #body: CompletionBodyReader;
  #partial = "";
  #verdict: SloVerdict | undefined;

  constructor(options: { onFirstContent?: () => void } = {}) {
    this.#body = new CompletionBodyReader({ stream: true, ...options });
  }

  push(chunk: string): void {
    this.#body.push(chunk);
    const lines = (this.#partial + chunk).split("\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) this.#line(line);
  }

  /** Call once the body has ended; `ok` says whether the status was 2xx. */
  finish(ok: boolean): SloStreamResult {
    this.#line(this.#partial);
    this.#partial = "";
    const result: SloStreamResult = this.#body.finish(ok);
    if (this.#verdict !== undefined) result.verdict = this.#verdict;
    return result;
  }

  #line(line: string): void {
    if (!line.startsWith("data:") || !line.includes('"tollgate"')) return;
    try {
      this.#verdict = verdictOf(JSON.parse(line.slice(5))) ?? this.#verdict;
    } catch {
      // CompletionBodyReader reports malformed events; a verdict we cannot read is simply absent.
    }
  }
}

/** The verdict in a parsed chunk's `tollgate` field, if it has a class name and a boolean `slo_met`. */
export function verdictOf(chunk: unknown): SloVerdict | undefined {
  if (!isRecord(chunk) || !isRecord(chunk["tollgate"])) return undefined;
  const t = chunk["tollgate"];
  if (typeof t["slo_class"] !== "string" || typeof t["slo_met"] !== "boolean") return undefined;
  const verdict: SloVerdict = { sloClass: t["slo_class"], met: t["slo_met"] };
  if (typeof t["ttft_met"] === "boolean") verdict.ttftMet = t["ttft_met"];
  if (typeof t["tpot_met"] === "boolean") verdict.tpotMet = t["tpot_met"];
  if (typeof t["e2e_met"] === "boolean") verdict.e2eMet = t["e2e_met"];
  return verdict;
}

/**
 * `Retry-After` in delay-seconds (RFC 9110, section 10.2.3), the form Tollgate sends; an HTTP-date or anything
 * else is undefined. undici gives a repeated header as an array: the first value counts.
 */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\s*\d+\s*$/.test(text)) return undefined;
  return Number(text);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
