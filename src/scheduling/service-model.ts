import { Ewma } from "../routing/ewma.js";

/** One request in service: mark its first token when it comes, and its end. */
export interface InService {
  firstToken(atMs: number): void;
  end(endMs: number): void;
}

/**
 * What admission predicts from: a pool's measured service time (dispatch to last token) and time to first token
 * in service (dispatch to first token), as time-decayed EWMAs, plus the requests in service now. The first-token
 * time is sampled when the token comes, not when the request ends, so a growing backlog inside the replicas shows
 * within one time to first token rather than one end-to-end latency. Before the first request finishes there is
 * no service sample, but the oldest request in service has already taken this long: that lower bound keeps a
 * cold pool from admitting an unbounded queue on a predicted service time of zero.
 */
export class ServiceModel {
  readonly #service: Ewma;
  readonly #firstToken: Ewma;
  readonly #running = new Set<{ dispatchedMs: number }>();

  constructor(halfLifeMs = 5_000) {
    this.#service = new Ewma({ halfLifeMs });
    this.#firstToken = new Ewma({ halfLifeMs });
  }

  /** A request entered service at `dispatchedMs`. */
  start(dispatchedMs: number): InService {
    const running = { dispatchedMs };
    this.#running.add(running);
    let firstTokenMs: number | undefined;
    return {
      firstToken: (atMs) => {
        if (firstTokenMs !== undefined) return;
        firstTokenMs = atMs;
        this.#firstToken.observe(atMs - dispatchedMs, atMs);
      },
      end: (endMs) => {
        if (!this.#running.delete(running)) return;
        // A request that ended before its first token (an error, a cancelled client) says nothing about speed.
        if (firstTokenMs !== undefined) this.#service.observe(endMs - dispatchedMs, endMs);
      },
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
