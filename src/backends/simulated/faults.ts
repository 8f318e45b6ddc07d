import { GatewayError } from "../../core/errors.js";
import { SeededRandom } from "../../core/random.js";
import type { FaultSettings } from "./types.js";

/**
 * Fault injection for one replica, decided by its seeded stream and its clock so chaos runs replay exactly.
 * Outage windows are stored in absolute clock time (creation time + offset), sorted by start.
 */
export class FaultInjector {
  readonly latencyMultiplier: number;
  readonly hang: boolean;
  readonly #errorRate: number;
  readonly #random: SeededRandom;
  readonly #outages: ReadonlyArray<{ start: number; end: number }>;

  constructor(faults: FaultSettings, options: { createdMs: number; seed: number }) {
    this.latencyMultiplier = faults.latencyMultiplier;
    this.hang = faults.hang;
    this.#errorRate = faults.errorRate;
    // A stream of its own, so turning error injection on does not shift any other random decision.
    this.#random = new SeededRandom((options.seed ^ 0x5f3759df) >>> 0);
    this.#outages = faults.outages
      .map((o) => ({
        start: options.createdMs + o.startMs,
        end: options.createdMs + o.startMs + o.durationMs,
      }))
      .sort((a, b) => a.start - b.start);
  }

  /** Whether the next accepted request is doomed to fail with `backend_error` (one draw per request). */
  drawRequestFailure(): boolean {
    if (this.#errorRate <= 0) return false;
    return this.#random.next() < this.#errorRate;
  }

  /** True inside an outage window [start, start + duration). */
  inOutage(nowMs: number): boolean {
    return this.#outages.some((o) => nowMs >= o.start && nowMs < o.end);
  }

  /** End of the outage covering `nowMs`, if any (for Retry-After hints). */
  outageEndsAt(nowMs: number): number | undefined {
    return this.#outages.find((o) => nowMs >= o.start && nowMs < o.end)?.end;
  }

  /** Start of the first outage beginning after `nowMs`, if any. */
  nextOutageStart(nowMs: number): number | undefined {
    return this.#outages.find((o) => o.start > nowMs)?.start;
  }

  /** The retryable `replica_unavailable` error of an outage at `nowMs`, with Retry-After set to its end. */
  outageError(nowMs: number, message: string): GatewayError {
    const end = this.outageEndsAt(nowMs) ?? nowMs;
    return new GatewayError("replica_unavailable", message, {
      retryable: true,
      retryAfterSeconds: Math.max(1, Math.ceil((end - nowMs) / 1000)),
    });
  }
}
