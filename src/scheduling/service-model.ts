import { Ewma } from "../routing/ewma.js";

/**
 * What admission predicts from: a pool's measured service time (dispatch to last token) and time to first token
 * in service, as time-decayed EWMAs, plus the requests in service now. Before the first request finishes there
 * is no sample, but the oldest request in service has already taken this long: that lower bound keeps a cold
 * pool from admitting an unbounded queue on a predicted service time of zero.
 */
export class ServiceModel {
  readonly #service: Ewma;
  readonly #firstToken: Ewma;
  readonly #running = new Set<{ dispatchedMs: number }>();

  constructor(halfLifeMs = 5_000) {
    this.#service = new Ewma({ halfLifeMs });
    this.#firstToken = new Ewma({ halfLifeMs });
  }

  /** A request entered service; call the returned function when it ends (with its first token, if any). */
  start(dispatchedMs: number): (endMs: number, firstTokenMs: number | undefined) => void {
    const running = { dispatchedMs };
    this.#running.add(running);
    return (endMs, firstTokenMs) => {
      this.#running.delete(running);
      // A request that ended before its first token (an error, a cancelled client) says nothing about speed.
      if (firstTokenMs === undefined) return;
      this.#service.observe(endMs - dispatchedMs, endMs);
      this.#firstToken.observe(firstTokenMs - dispatchedMs, endMs);
    };
  }

  /** Mean service time in milliseconds (the cold-start lower bound until a request has finished). */
  serviceMs(nowMs: number): number {
    const measured = this.#service.value();
    if (measured !== undefined) return measured;
    let oldest = Number.POSITIVE_INFINITY;
    for (const r of this.#running) oldest = Math.min(oldest, r.dispatchedMs);
    return oldest === Number.POSITIVE_INFINITY ? 0 : nowMs - oldest;
  }

  /** Mean dispatch-to-first-token time in milliseconds (0 until measured). */
  firstTokenMs(): number {
    return this.#firstToken.value() ?? 0;
  }
}
