import { z } from "zod";
import { labelPattern, positiveInt } from "./fields.js";

export const sloClassSchema = z
  .object({
    priority: z.number().int().min(0).max(100).describe("Higher is served first and shed last."),
    ttftMs: positiveInt.describe("Target time from arrival to first token, queueing included."),
    tpotMs: positiveInt.describe("Target time per output token after the first."),
    e2eMs: positiveInt.describe("Target time from arrival to last token."),
    percentile: z
      .number()
      .gt(0)
      .lt(100)
      .default(99)
      .describe(
        "The percentile the targets are stated at (reported with attainment; each request is judged alone).",
      ),
    maxQueueMs: positiveInt.describe(
      "A request queued longer than this in the gateway is dropped (503) before it reaches a GPU.",
    ),
  })
  .strict()
  .meta({
    description:
      "One SLO class: latency targets at a percentile, a priority, and how long its requests may queue.",
  });

/** The source of these numbers is in the `classes` description below. */
const DEFAULT_CLASSES = {
  interactive: { priority: 30, ttftMs: 500, tpotMs: 30, e2eMs: 30_000, percentile: 99, maxQueueMs: 500 },
  standard: { priority: 20, ttftMs: 2_000, tpotMs: 100, e2eMs: 120_000, percentile: 99, maxQueueMs: 2_000 },
  batch: {
    priority: 10,
    ttftMs: 60_000,
    tpotMs: 1_000,
    e2eMs: 1_800_000,
    percentile: 90,
    maxQueueMs: 60_000,
  },
};

export const schedulingSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe("Admission control and queues; false sends every request straight to routing."),
    defaultClass: z
      .string()
      .default("standard")
      .describe("The class of a request whose tenant (or anonymous client) names none."),
    classes: z
      .record(z.string().regex(labelPattern), sloClassSchema)
      .default(DEFAULT_CLASSES)
      .describe(
        "SLO classes by name. Defaults from MLPerf Inference's server scenario for Llama-3.1-8B (p99 TTFT " +
          "2 s, TPOT 100 ms; interactive 500 ms, 30 ms); batch is throughput work that may wait minutes.",
      ),
    tenantMaxShare: z
      .number()
      .gt(0)
      .max(1)
      .default(1)
      .describe(
        "While a pool is saturated, one tenant may hold at most this share of its queue and slots; above it " +
          "the tenant's requests get 429 instead of the gateway's 503. 1 turns it off.",
      ),
  })
  .strict()
  .meta({
    title: "Scheduling",
    description: 'SLO classes, admission control and the gateway\'s queues (README: "Latency targets").',
  });

export const modelSchedulingSchema = z
  .object({
    maxConcurrentPerReplica: positiveInt
      .max(4096)
      .optional()
      .meta({
        description:
          "Requests dispatched to the pool at once, per replica; the rest wait in the gateway's priority queue.",
        whenUnset:
          "what the replica can run: its batch limit (a simulated engine's maxNumSeqs) and no more sequences " +
          "than its KV cache holds at the pool's typical prompt + completion length; 32 for HTTP upstreams",
      }),
    prefillBacklogTokensPerReplica: positiveInt.optional().meta({
      description:
        "Prompt tokens dispatched to a replica and not yet prefilled (no first token) before further requests " +
        "wait in the gateway's queue, where priorities apply.",
      whenUnset:
        "two engine steps (2 x maxNumBatchedTokens) for simulated replicas; unbounded for HTTP upstreams",
    }),
    maxQueue: positiveInt
      .max(1_000_000)
      .default(1024)
      .describe(
        "Requests waiting in the gateway's queue for this model; lower classes are shed first when full.",
      ),
    degradeTo: z
      .string()
      .optional()
      .describe(
        "A request predicted to miss its TTFT target here is served by this (faster, cheaper) model instead.",
      ),
    batching: z
      .object({
        maxWaitMs: z
          .number()
          .nonnegative()
          .default(0)
          .describe("Hold requests up to this long to dispatch them together; 0 turns micro-batching off."),
        maxBatchSize: positiveInt.default(16).describe("A batch is released once this many requests wait."),
        maxBatchTokens: positiveInt
          .default(16_384)
          .describe("A batch is released once its prompts add up to this many tokens."),
        bypassClasses: z.array(z.string()).optional().meta({
          description: "SLO classes dispatched at once, never held for a batch.",
          whenUnset: "the highest-priority class",
        }),
      })
      .strict()
      .prefault({})
      .describe("Micro-batching: requests held briefly in the gateway and dispatched together."),
  })
  .strict()
  .meta({
    title: "Model scheduling",
    description:
      "Per-model scheduling: the concurrency limit in front of the pool, its queue, degradation, micro-batching.",
  });

export type SloClassConfig = z.infer<typeof sloClassSchema>;
export type SchedulingConfig = z.infer<typeof schedulingSchema>;
export type ModelSchedulingConfig = z.infer<typeof modelSchedulingSchema>;

/** The default class must be one of the classes. */
export function checkScheduling(scheduling: SchedulingConfig): string[] {
  if (scheduling.defaultClass in scheduling.classes) return [];
  return [
    `scheduling.defaultClass: no SLO class "${scheduling.defaultClass}" (known: ${Object.keys(scheduling.classes).join(", ")})`,
  ];
}

/** A model's degradation target and batching bypass classes name things that exist (`at` is the model's path). */
export function checkModelScheduling(
  scheduling: ModelSchedulingConfig,
  context: {
    at: string;
    modelId: string;
    modelIds: ReadonlySet<string>;
    classes: Readonly<Record<string, unknown>>;
  },
): string[] {
  const problems: string[] = [];
  const { at, modelId, modelIds, classes } = context;
  const degradeTo = scheduling.degradeTo;
  if (degradeTo !== undefined) {
    if (degradeTo === modelId) problems.push(`${at}.scheduling.degradeTo: a model cannot degrade to itself`);
    else if (!modelIds.has(degradeTo))
      problems.push(`${at}.scheduling.degradeTo: no model with id "${degradeTo}"`);
  }
  for (const [j, name] of (scheduling.batching.bypassClasses ?? []).entries()) {
    if (!(name in classes))
      problems.push(`${at}.scheduling.batching.bypassClasses.${j}: no SLO class "${name}"`);
  }
  return problems;
}
