import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/**
 * Metrics of the guard: decisions by reason and tier, challenges, client-reported solve times, the current
 * difficulty and rate-limit rejections. Labels are closed sets (tiers are configured).
 */
export function createGuardMetrics(registry: Registry) {
  return {
    guardRequests: new Counter({
      name: "tollgate_guard_requests_total",
      help: "Requests by guard decision (allowed, throttled, challenged, rejected), reason and client tier.",
      labelNames: ["decision", "reason", "tier"] as const,
      registers: [registry],
    }),
    challengesIssued: new Counter({
      name: "tollgate_challenges_issued_total",
      help: "Challenge responses sent (a client's outstanding challenge, handed out again, counts again).",
      registers: [registry],
    }),
    challengeVerifications: new Counter({
      name: "tollgate_challenge_verifications_total",
      help: "Challenge submissions by result: solved, wrong_nonce, expired, unknown, replayed, wrong_client, malformed.",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    challengeSolveTime: new Histogram({
      name: "tollgate_challenge_solve_seconds",
      help: "Time clients report spending on a solved challenge (solve_ms in the verify request).",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
    challengeDifficulty: new Gauge({
      name: "tollgate_challenge_difficulty_bits",
      help: "Difficulty (leading zero bits) of the most recently issued challenge.",
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: "tollgate_rate_limit_rejections_total",
      help: "Requests refused with 429 by a rate limit, by kind (requests, tokens, concurrent).",
      labelNames: ["kind"] as const,
      registers: [registry],
    }),
  };
}
