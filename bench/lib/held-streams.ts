import type { Dispatcher } from "undici";

/**
 * Where each of many long streaming requests stands, counted from what the client actually received, so a
 * report says what happened: an answered request is not a stream unless it is a 200 whose events are flowing.
 *
 * - waiting: no response yet (the gateway streams only once the first token exists, so these are queued);
 * - streaming: a 200 with its first event in, still open;
 * - ended: a 200 stream that finished (or broke off) by itself before the client closed it;
 * - refused: 503 or 429 (shed by admission or a full queue), by error code;
 * - failed: any other status, or a transport error the client did not cause, by reason.
 */
export interface HeldStreamCounts {
  requested: number;
  waiting: number;
  streaming: number;
  ended: number;
  refused: number;
  failed: number;
  refusedBy: Record<string, number>;
  failedBy: Record<string, number>;
}

export class HeldStreams {
  readonly #counts: HeldStreamCounts = {
    requested: 0,
    waiting: 0,
    streaming: 0,
    ended: 0,
    refused: 0,
    failed: 0,
    refusedBy: {},
    failedBy: {},
  };

  /** A copy of the counts now. */
  counts(): HeldStreamCounts {
    const c = this.#counts;
    return { ...c, refusedBy: { ...c.refusedBy }, failedBy: { ...c.failedBy } };
  }

  /** Live connections the gateway holds for these requests: streaming plus waiting for a slot. */
  get held(): number {
    return this.#counts.streaming + this.#counts.waiting;
  }

  /**
   * Sends one streaming request and follows it until it ends or `signal` (the client's) aborts it. Never
   * throws: every outcome is counted.
   */
  async follow(
    dispatcher: Dispatcher,
    options: Dispatcher.RequestOptions & { signal: AbortSignal },
  ): Promise<void> {
    const c = this.#counts;
    c.requested++;
    c.waiting++;
    let state: "waiting" | "streaming" | "done" = "waiting";
    const leave = () => {
      if (state === "waiting") c.waiting--;
      else if (state === "streaming") c.streaming--;
      state = "done";
    };
    try {
      const response = await dispatcher.request(options);
      if (response.statusCode !== 200) {
        const text = await response.body.text();
        leave();
        if (response.statusCode === 503 || response.statusCode === 429) {
          c.refused++;
          bump(c.refusedBy, `${response.statusCode} ${errorCode(text)}`);
        } else {
          c.failed++;
          bump(c.failedBy, `HTTP ${response.statusCode} ${errorCode(text)}`);
        }
        return;
      }
      for await (const _chunk of response.body) {
        if (state !== "waiting") continue;
        c.waiting--;
        c.streaming++;
        state = "streaming";
      }
      leave();
      c.ended++;
    } catch (error) {
      const closedByUs = options.signal.aborted;
      leave();
      if (closedByUs) return;
      c.failed++;
      bump(c.failedBy, (error as { code?: string }).code ?? (error as Error).name ?? "error");
    }
  }
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** The OpenAI error body's `code` (or `type`), or "-" when the body is not one. */
function errorCode(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { code?: string | null; type?: string } };
    return body.error?.code ?? body.error?.type ?? "-";
  } catch {
    return "-";
  }
}
