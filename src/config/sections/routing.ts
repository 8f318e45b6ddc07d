import { z } from "zod";
import { POLICY_NAMES } from "../../routing/policies/index.js";
import { positiveInt } from "./fields.js";

const retriesSchema = z
  .object({
    maxAttempts: positiveInt
      .max(10)
      .default(3)
      .describe(
        "Attempts in all, the first included, each on a replica not tried yet; retried only before the first token.",
      ),
    backoffBaseMs: z
      .number()
      .nonnegative()
      .default(25)
      .describe("Full-jitter exponential backoff between attempts: its base."),
    backoffMaxMs: z
      .number()
      .nonnegative()
      .default(1000)
      .describe("The backoff's cap (at least backoffBaseMs)."),
    budgetRatio: z
      .number()
      .min(0)
      .max(10)
      .default(0.2)
      .describe(
        "Retries allowed per request over the window (a retry budget: no retry storms in an outage).",
      ),
    budgetMinPerSecond: z
      .number()
      .nonnegative()
      .default(5)
      .describe("Retries per second always allowed, so low traffic can still retry."),
    budgetWindowMs: positiveInt
      .multipleOf(1000, "use whole seconds")
      .default(10_000)
      .describe("The retry budget's window."),
  })
  .strict()
  .refine((r) => r.backoffMaxMs >= r.backoffBaseMs, { message: "backoffMaxMs must be >= backoffBaseMs" })
  .describe("Retries of retryable failures (connection errors, 429, 5xx, timeouts) before the first token.");

const breakerSchema = z
  .object({
    consecutiveFailures: positiveInt.default(5).describe("Open after this many failures in a row..."),
    errorRate: z
      .number()
      .gt(0)
      .max(1)
      .default(0.5)
      .describe("...or when this share of the window's requests failed..."),
    minRequests: positiveInt.default(20).describe("...with at least this many requests in the window."),
    windowMs: positiveInt
      .multipleOf(1000, "use whole seconds")
      .default(10_000)
      .describe("The window errorRate and minRequests count over."),
    openMs: positiveInt
      .default(5_000)
      .describe("Cool-down before a probe; doubles after each failed probe, up to maxOpenMs."),
    maxOpenMs: positiveInt.default(60_000).describe("Longest cool-down (at least openMs)."),
    halfOpenProbes: positiveInt
      .default(1)
      .describe(
        "Probe requests let through after the cool-down: a success closes the breaker, a failure re-opens it.",
      ),
  })
  .strict()
  .refine((b) => b.maxOpenMs >= b.openMs, { message: "maxOpenMs must be >= openMs" })
  .describe("A circuit breaker per replica: no traffic while open.");

const healthCheckSchema = z
  .object({
    intervalMs: positiveInt.default(10_000).describe("Time between two probes of a replica."),
    timeoutMs: positiveInt.default(2_000).describe("A probe slower than this fails."),
    unhealthyThreshold: positiveInt
      .default(3)
      .describe("Failed probes in a row that take a replica out of rotation."),
    healthyThreshold: positiveInt.default(2).describe("Good probes in a row that bring it back."),
  })
  .strict()
  .describe("Active health checks of replicas that support them (HTTP upstreams: GET /v1/models).");

const timeoutsSchema = z
  .object({
    connectMs: positiveInt.default(5_000).describe("Connecting to an HTTP upstream."),
    firstTokenMs: positiveInt
      .default(60_000)
      .describe("Dispatch to first token, queueing in the engine included; retryable."),
    totalMs: positiveInt.default(600_000).describe("Dispatch to last token."),
  })
  .strict()
  .describe("Deadlines of one attempt on a replica.");

export const routingSchema = z
  .object({
    policy: z
      .enum(POLICY_NAMES)
      .default("least-outstanding")
      .describe('Replica-selection policy for the model\'s pool (README: "Routing").'),
    retries: retriesSchema.prefault({}),
    breaker: breakerSchema.prefault({}),
    healthCheck: healthCheckSchema.prefault({}),
    timeouts: timeoutsSchema.prefault({}),
  })
  .strict()
  .meta({
    title: "Routing",
    description: "How a model's requests are spread over its replicas and what happens when they fail.",
  });

export type RoutingConfig = z.infer<typeof routingSchema>;
export type PolicyName = (typeof POLICY_NAMES)[number];
