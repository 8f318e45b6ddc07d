import { isIP } from "node:net";
import { z } from "zod";
import { ENV_REFERENCE, labelPattern, namePattern, positiveInt } from "./fields.js";

export const limitsSchema = z
  .object({
    requestsPerMinute: positiveInt
      .optional()
      .describe("Requests per minute (a token bucket refilling continuously)."),
    tokensPerMinute: positiveInt
      .optional()
      .describe("Prompt tokens are taken at admission, completion tokens charged when the response ends."),
    concurrentRequests: positiveInt.optional().describe("Requests in flight at once."),
  })
  .strict()
  .meta({
    description:
      "Request, token and concurrency limits of one client kind; absent fields are unlimited (429 over).",
  });

const tenantSchema = z
  .object({
    tier: z
      .string()
      .regex(labelPattern)
      .default("standard")
      .describe("A label for metrics and logs (bounded: tiers are configured)."),
    sloClass: z.string().optional().meta({
      description: "The SLO class of the tenant's requests (the x-tollgate-slo-class header may lower it).",
      whenUnset: "scheduling.defaultClass",
    }),
    limits: limitsSchema.prefault({}).describe("Limits shared by all the tenant's keys."),
    challenge: z
      .enum(["never", "adaptive"])
      .default("never")
      .describe(
        "`never`: the tenant's keys are governed by their limits (429) and admission (503) only; an SDK cannot " +
          "solve a proof-of-work. `adaptive`: its keys are scored and challenged like anonymous clients, minus " +
          "the no-key term (for tenants whose keys sit in browsers or leak to scrapers).",
      ),
  })
  .strict();

const apiKeySchema = z
  .object({
    name: z.string().regex(namePattern).describe("The key's name in logs and passes (`key:<name>`)."),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, "a lowercase hex SHA-256 digest of the key")
      .describe("Lowercase hex SHA-256 digest of the key (`echo -n KEY | sha256sum`), never the key itself."),
    tenant: z.string().describe("The tenant (from guard.tenants) the key belongs to."),
    limits: limitsSchema.prefault({}).describe("Limits of this key alone, on top of its tenant's."),
  })
  .strict();

const challengeSchema = z
  .object({
    enabled: z.boolean().default(true).describe("false turns proof-of-work challenges off for everyone."),
    threshold: z
      .number()
      .gt(0)
      .max(1)
      .default(0.5)
      .describe("Risk (0-1) at or above which a client must solve a proof-of-work challenge."),
    minDifficulty: z
      .number()
      .int()
      .min(1)
      .max(32)
      .default(14)
      .describe("Leading zero bits asked at the threshold; rises linearly with risk up to maxDifficulty."),
    maxDifficulty: z.number().int().min(1).max(32).default(22).describe("Leading zero bits asked at risk 1."),
    floodRatePerSecond: z
      .number()
      .positive()
      .default(20)
      .describe("Requests per second from one client over the rate window that count as fully automated."),
    rateWindowSeconds: positiveInt
      .default(10)
      .describe("Window over which a client's request rate is measured for its risk score."),
    challengeTtlSeconds: positiveInt.default(120).describe("How long an issued challenge may be solved."),
    passTtlSeconds: positiveInt
      .default(3_600)
      .describe("How long a pass (a solved challenge) vouches for its client."),
  })
  .strict()
  .refine((c) => c.maxDifficulty >= c.minDifficulty, {
    message: "maxDifficulty must be >= minDifficulty",
  })
  .describe('Adaptive proof-of-work challenges (README: "Guard").');

export const guardSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe("Identity, limits and challenges on the completion endpoints."),
    secret: z
      .string()
      .min(1)
      .optional()
      .meta({
        description:
          `HMAC secret that signs passes (at least 32 characters); ${ENV_REFERENCE} is read from the environment. ` +
          "A fleet must share it.",
        whenUnset: "a random secret per process (passes then work only on the replica that issued them)",
      }),
    trustedProxies: z
      .array(z.string())
      .default([])
      .describe("Addresses (IPs or CIDR ranges) whose X-Forwarded-For is believed; empty: never."),
    tenants: z
      .record(z.string().regex(namePattern), tenantSchema)
      .default({})
      .describe("Tenants by name: a tier, an SLO class, limits, and whether their keys may be challenged."),
    apiKeys: z
      .array(apiKeySchema)
      .default([])
      .describe("API keys, stored as SHA-256 hex digests of the key (never the key itself)."),
    anonymous: z
      .object({
        allowed: z.boolean().default(true).describe("Serve requests without an API key."),
        sloClass: z.string().optional().meta({
          description: "The SLO class of anonymous requests.",
          whenUnset: "scheduling.defaultClass",
        }),
        limits: limitsSchema
          .default({
            requestsPerMinute: 120,
            tokensPerMinute: 60_000,
            concurrentRequests: 8,
          })
          .describe("Limits per client IP."),
      })
      .strict()
      .prefault({})
      .describe(
        "Clients without an API key, identified by IP. Requests with an Authorization header whose key is " +
          "unknown get 401; without one they are anonymous.",
      ),
    challenge: challengeSchema.prefault({}),
  })
  .strict()
  .meta({
    title: "Guard",
    description:
      'The guard in front of the pipeline: identity, rate limits, proof-of-work challenges (README: "Guard").',
  });

export type GuardConfig = z.infer<typeof guardSchema>;
export type LimitsConfig = z.infer<typeof limitsSchema>;

/** The guard's references: keys to tenants, tenants and anonymous clients to SLO classes, proxy addresses. */
export function checkGuard(guard: GuardConfig, classes: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  const hashes = new Set<string>();
  guard.apiKeys.forEach((key, i) => {
    if (!(key.tenant in guard.tenants)) problems.push(`guard.apiKeys.${i}.tenant: no tenant "${key.tenant}"`);
    if (hashes.has(key.sha256)) problems.push(`guard.apiKeys.${i}.sha256: the same key is listed twice`);
    hashes.add(key.sha256);
  });
  for (const [name, tenant] of Object.entries(guard.tenants)) {
    if (tenant.sloClass !== undefined && !(tenant.sloClass in classes))
      problems.push(`guard.tenants.${name}.sloClass: no SLO class "${tenant.sloClass}"`);
  }
  if (guard.anonymous.sloClass !== undefined && !(guard.anonymous.sloClass in classes))
    problems.push(`guard.anonymous.sloClass: no SLO class "${guard.anonymous.sloClass}"`);
  guard.trustedProxies.forEach((entry, i) => {
    const [address, bits] = entry.split("/");
    const family = isIP(address ?? "");
    const maxBits = family === 6 ? 128 : 32;
    if (
      family === 0 ||
      (bits !== undefined && !(Number(bits) >= 0 && Number(bits) <= maxBits && /^\d+$/.test(bits)))
    )
      problems.push(`guard.trustedProxies.${i}: "${entry}" is not an IP address or CIDR range`);
  });
  return problems;
}
