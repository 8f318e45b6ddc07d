import { z } from "zod";
import { POLICY_NAMES } from "../routing/policies/index.js";

/**
 * The whole configuration as one zod schema. Types come from z.infer; every default lives here, so the YAML
 * files only say what differs. Parsed once at start-up (see load.ts), every bad field reported at once, then frozen.
 */

const positiveInt = z.number().int().positive();
const fraction = z.number().min(0).max(1);

/**
 * Continuous-batching scheduler limits (vLLM's names in parentheses). Fields left out take vLLM V1's defaults for
 * the deployment's GPU (see defaultEngineSettings in backends/simulated/defaults.ts).
 */
export const engineSchema = z
  .object({
    /** Most sequences in one batch (max_num_seqs): 1024 on >= 70 GiB non-A100 GPUs, else 256. */
    maxNumSeqs: positiveInt,
    /** Token budget of one step, prefill chunks plus decodes (max_num_batched_tokens): 8192, else 2048. */
    maxNumBatchedTokens: positiveInt,
    /** Tokens per KV block (block_size); vLLM uses 16. */
    blockSize: positiveInt,
    /** Share of GPU memory the engine may use for weights, activations and KV (gpu_memory_utilization): 0.9. */
    gpuMemoryUtilization: z.number().gt(0).max(1),
    /** Memory held back per GPU for activations and CUDA graphs, in bytes: 2e9. */
    activationReserveBytes: z.number().int().nonnegative(),
    /** Keep full KV blocks keyed by prompt prefix for reuse (enable_prefix_caching): true. */
    prefixCaching: z.boolean(),
  })
  .partial()
  .strict();

/** Achieved fractions of the roofline; see ../shared/reference/serving.md for the published ranges. */
const efficiencyFields = z
  .object({
    /** Model bandwidth utilisation of decode steps (serving.md: 0.5-0.6 published; calibrated: 0.8). */
    mbu: z.number().gt(0).max(1).default(0.8),
    /** Model FLOP/s utilisation for a step of few tokens (published: about 0.35 for short prompts). */
    mfuMin: z.number().gt(0).max(1).default(0.35),
    /** MFU once a step holds mfuRampTokens or more (published: 0.45-0.7 for 2k-token prompts). */
    mfuMax: z.number().gt(0).max(1).default(0.6),
    mfuRampTokens: positiveInt.default(2048),
    /** Host time per step: scheduling, sampling, detokenising (calibrated: 2 ms). */
    stepOverheadMs: z.number().nonnegative().default(2),
    /** Fixed cost of one tensor-parallel all-reduce (launch and synchronisation), microseconds. */
    allReduceLatencyUs: z.number().nonnegative().default(20),
  })
  .strict();

export const efficiencySchema = efficiencyFields.refine((e) => e.mfuMin <= e.mfuMax, {
  message: "mfuMin must not exceed mfuMax",
  path: ["mfuMin"],
});

/** Output length model: log-normal around a median, capped by max_tokens. */
export const outputSchema = z
  .object({
    /** Median completion length in tokens when max_tokens does not cut it short. */
    lengthMedian: z.number().positive().default(200),
    /** Sigma of the underlying normal; 0.8 gives a p90/p50 ratio of about 2.8. */
    lengthSigma: z.number().nonnegative().default(0.8),
  })
  .strict();

export const faultsSchema = z
  .object({
    /** Probability that a request fails before its first token with a retryable backend error. */
    errorRate: fraction.default(0),
    /** Multiplies every step time (a slow or throttled replica). */
    latencyMultiplier: z.number().positive().default(1),
    /** Accept requests but never produce a token (a hung replica that still looks alive). */
    hang: z.boolean().default(false),
    /** Windows, relative to the replica's start, when the replica is down. */
    outages: z
      .array(z.object({ startMs: z.number().nonnegative(), durationMs: z.number().positive() }).strict())
      .default([]),
  })
  .strict();

const simulatedBackendSchema = z
  .object({
    type: z.literal("simulated"),
    /** Key in the hardware catalog (built-in or catalog.hardware). */
    hardware: z.string().min(1),
    /** GPUs per replica; weights, KV and compute are split across them. */
    tensorParallel: positiveInt.default(1),
    precision: z.enum(["bf16", "fp8", "int4"]).default("bf16"),
    kvCacheDtype: z.enum(["bf16", "fp8"]).default("bf16"),
    /** `roofline`: step times from the roofline model; `zero`: steps take no time (to benchmark the gateway). */
    latency: z.enum(["roofline", "zero"]).default("roofline"),
    /** Overrides the catalog's price of one GPU-hour. */
    pricePerGpuHourUsd: z.number().nonnegative().optional(),
    engine: engineSchema.default({}),
    efficiency: efficiencyFields.partial().default({}),
    output: outputSchema.partial().default({}),
    faults: faultsSchema.default({ errorRate: 0, latencyMultiplier: 1, hang: false, outages: [] }),
  })
  .strict();

const openAiHttpBackendSchema = z
  .object({
    type: z.literal("openai-http"),
    /** Base URL of an OpenAI-compatible server (vLLM, Ollama, OpenAI, another Tollgate); `/v1` is appended. */
    url: z.url({ protocol: /^https?$/ }),
    /** Sent upstream as `Authorization: Bearer`; `${ENV_NAME}` is read from the environment at start-up. */
    apiKey: z.string().optional(),
    /** Extra headers sent upstream. */
    headers: z.record(z.string(), z.string()).default({}),
    /** Model name sent upstream (default: the Tollgate model id). */
    upstreamModel: z.string().optional(),
    /** Keep-alive connections per replica (undici Pool). */
    connections: positiveInt.max(4096).default(64),
    /** Accelerator type, when known (for reports); `external` otherwise. */
    gpu: z.string().default("external"),
    /** What one replica costs per hour, for cost per response (0 when unknown). */
    pricePerGpuHourUsd: z.number().nonnegative().default(0),
  })
  .strict();

export const backendSchema = z.discriminatedUnion("type", [simulatedBackendSchema, openAiHttpBackendSchema]);

/** Replica-selection policies (src/routing/policies), by config name. */
const policyNames = POLICY_NAMES;

/** How a model's requests are spread over its replicas and what happens when they fail. */
export const routingSchema = z
  .object({
    /** Replica-selection policy for the model's pool (README: "Routing policies"). */
    policy: z.enum(policyNames).default("least-outstanding"),
    retries: z
      .object({
        /** Attempts in all, the first included; retried only before the first token. */
        maxAttempts: positiveInt.max(10).default(3),
        /** Full-jitter exponential backoff between attempts. */
        backoffBaseMs: z.number().nonnegative().default(25),
        backoffMaxMs: z.number().nonnegative().default(1000),
        /** Retries allowed per request over the window (a retry budget: no retry storms in an outage). */
        budgetRatio: z.number().min(0).max(10).default(0.2),
        /** Retries per second always allowed, so low traffic can still retry. */
        budgetMinPerSecond: z.number().nonnegative().default(5),
        budgetWindowMs: positiveInt.multipleOf(1000, "use whole seconds").default(10_000),
      })
      .strict()
      .refine((r) => r.backoffMaxMs >= r.backoffBaseMs, { message: "backoffMaxMs must be >= backoffBaseMs" })
      .prefault({}),
    breaker: z
      .object({
        /** Open after this many failures in a row. */
        consecutiveFailures: positiveInt.default(5),
        /** ...or when this share of the window's requests failed... */
        errorRate: z.number().gt(0).max(1).default(0.5),
        /** ...with at least this many requests in the window. */
        minRequests: positiveInt.default(20),
        windowMs: positiveInt.multipleOf(1000, "use whole seconds").default(10_000),
        /** Cool-down before a probe; doubles after each failed probe, up to maxOpenMs. */
        openMs: positiveInt.default(5_000),
        maxOpenMs: positiveInt.default(60_000),
        halfOpenProbes: positiveInt.default(1),
      })
      .strict()
      .refine((b) => b.maxOpenMs >= b.openMs, { message: "maxOpenMs must be >= openMs" })
      .prefault({}),
    /** Active health checks of replicas that support them (HTTP upstreams: GET /v1/models). */
    healthCheck: z
      .object({
        intervalMs: positiveInt.default(10_000),
        timeoutMs: positiveInt.default(2_000),
        /** Failed probes in a row that take a replica out of rotation. */
        unhealthyThreshold: positiveInt.default(3),
        /** Good probes in a row that bring it back. */
        healthyThreshold: positiveInt.default(2),
      })
      .strict()
      .prefault({}),
    timeouts: z
      .object({
        /** Connecting to an HTTP upstream. */
        connectMs: positiveInt.default(5_000),
        /** Dispatch to first token, queueing in the engine included; retryable. */
        firstTokenMs: positiveInt.default(60_000),
        /** Dispatch to last token. */
        totalMs: positiveInt.default(600_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** Response-cache settings of one model; fields left out take the top-level `cache` values. */
export const modelCacheSchema = z
  .object({
    /**
     * What may be cached: `deterministic` (temperature 0 or a seed: the same request gives the same answer),
     * `all` (every request, for models whose callers accept a stored answer) or `off`.
     */
    mode: z.enum(["deterministic", "all", "off"]).optional(),
    /** How long an answer is served from the cache. */
    ttlSeconds: positiveInt.optional(),
    /** `instant` replays a stored stream at once; `original` keeps its recorded inter-token gaps. */
    replay: z.enum(["instant", "original"]).optional(),
    /** Opt-in: serve a stored answer to a prompt that is similar, not identical (README: "Semantic cache"). */
    semantic: z
      .object({
        enabled: z.boolean().default(false),
        /** Cosine similarity of hashed character n-gram vectors at or above which a stored answer is served. */
        threshold: z.number().gt(0).max(1).default(0.95),
        /** Prompts remembered for similarity search (per gateway process), least recently used evicted first. */
        maxEntries: positiveInt.max(1_000_000).default(10_000),
        /**
         * A prompt (its last message) longer than this skips the semantic index, both look-up and store: an
         * embedding costs about 0.3 µs a character on the event loop (README: "Input limits").
         */
        maxTextChars: positiveInt.max(1_048_576).default(4096),
      })
      .strict()
      .optional(),
  })
  .strict();

/** One SLO class: latency targets at a percentile, a priority, and how long its requests may queue. */
export const sloClassSchema = z
  .object({
    /** Higher is served first and shed last. */
    priority: z.number().int().min(0).max(100),
    /** Targets: arrival to first token, time per output token after it, arrival to last token. */
    ttftMs: positiveInt,
    tpotMs: positiveInt,
    e2eMs: positiveInt,
    /** The percentile the targets are stated at (reported with attainment; each request is judged alone). */
    percentile: z.number().gt(0).lt(100).default(99),
    /** A request queued longer than this in the gateway is dropped (503) before it reaches a GPU. */
    maxQueueMs: positiveInt,
  })
  .strict();

/** Per-model scheduling: the concurrency limit in front of the pool, its queue, degradation, micro-batching. */
export const modelSchedulingSchema = z
  .object({
    /**
     * Requests dispatched to the pool at once, per replica; the rest wait in the gateway's priority queue.
     * Default: what the replica can run: its batch limit (a simulated engine's maxNumSeqs) and no more sequences
     * than its KV cache holds at the pool's typical prompt + completion length; 32 for HTTP upstreams.
     */
    maxConcurrentPerReplica: positiveInt.max(4096).optional(),
    /**
     * Prompt tokens dispatched to a replica and not yet prefilled (no first token) before further requests wait
     * in the gateway's queue, where priorities apply. Default: two engine steps (2 x maxNumBatchedTokens) for
     * simulated replicas; unbounded for HTTP upstreams.
     */
    prefillBacklogTokensPerReplica: positiveInt.optional(),
    /** Requests waiting in the gateway's queue for this model; lower classes are shed first when full. */
    maxQueue: positiveInt.max(1_000_000).default(1024),
    /** A request predicted to miss its TTFT target here is served by this (faster, cheaper) model instead. */
    degradeTo: z.string().optional(),
    batching: z
      .object({
        /** Hold requests up to this long to dispatch them together; 0 turns micro-batching off. */
        maxWaitMs: z.number().nonnegative().default(0),
        maxBatchSize: positiveInt.default(16),
        /** A batch is released once its prompts add up to this many tokens. */
        maxBatchTokens: positiveInt.default(16_384),
        /** Classes dispatched at once, never held for a batch; default: the highest-priority class. */
        bypassClasses: z.array(z.string()).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** Request, token and concurrency limits of one client kind; absent fields are unlimited. */
export const limitsSchema = z
  .object({
    requestsPerMinute: positiveInt.optional(),
    /** Prompt tokens are taken at admission, completion tokens charged when the response ends. */
    tokensPerMinute: positiveInt.optional(),
    concurrentRequests: positiveInt.optional(),
  })
  .strict();

/** The guard in front of the pipeline: identity, rate limits, proof-of-work challenges (README: "Guard"). */
export const guardSchema = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * HMAC secret that signs passes; `${ENV_NAME}` is read from the environment. A fleet must share it.
     * Unset: a random secret per process (passes then work only on the replica that issued them).
     */
    secret: z.string().min(1).optional(),
    /** Addresses (IPs or CIDR ranges) whose X-Forwarded-For is believed; empty: never. */
    trustedProxies: z.array(z.string()).default([]),
    tenants: z
      .record(
        z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
        z
          .object({
            /** A label for metrics and logs (bounded: tiers are configured). */
            tier: z
              .string()
              .regex(/^[a-z0-9_-]{1,32}$/)
              .default("standard"),
            /** The SLO class of the tenant's requests (a header may lower it). */
            sloClass: z.string().optional(),
            limits: limitsSchema.prefault({}),
            /**
             * `never` (default): the tenant's keys are governed by their limits (429) and admission (503) only;
             * an SDK cannot solve a proof-of-work. `adaptive`: its keys are scored and challenged like anonymous
             * clients, minus the no-key term (for tenants whose keys sit in browsers or leak to scrapers).
             */
            challenge: z.enum(["never", "adaptive"]).default("never"),
          })
          .strict(),
      )
      .default({}),
    /** API keys, stored as SHA-256 hex digests of the key (never the key itself). */
    apiKeys: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
            sha256: z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex SHA-256 digest of the key"),
            tenant: z.string(),
            /** Limits of this key alone, on top of its tenant's. */
            limits: limitsSchema.prefault({}),
          })
          .strict(),
      )
      .default([]),
    /** Requests with an Authorization header whose key is unknown get 401; without one they are anonymous. */
    anonymous: z
      .object({
        allowed: z.boolean().default(true),
        sloClass: z.string().optional(),
        /** Limits per client IP. */
        limits: limitsSchema.default({
          requestsPerMinute: 120,
          tokensPerMinute: 60_000,
          concurrentRequests: 8,
        }),
      })
      .strict()
      .prefault({}),
    challenge: z
      .object({
        enabled: z.boolean().default(true),
        /** Risk (0-1) at or above which a client must solve a proof-of-work challenge. */
        threshold: z.number().gt(0).max(1).default(0.5),
        /** Leading zero bits asked at the threshold, and at most (both rise with risk and load). */
        minDifficulty: z.number().int().min(1).max(32).default(14),
        maxDifficulty: z.number().int().min(1).max(32).default(22),
        /** Requests per second from one client over the rate window that count as fully automated. */
        floodRatePerSecond: z.number().positive().default(20),
        rateWindowSeconds: positiveInt.default(10),
        challengeTtlSeconds: positiveInt.default(120),
        passTtlSeconds: positiveInt.default(3_600),
      })
      .strict()
      .refine((c) => c.maxDifficulty >= c.minDifficulty, {
        message: "maxDifficulty must be >= minDifficulty",
      })
      .prefault({}),
  })
  .strict();

export const deploymentSchema = z
  .object({
    /** Unique deployment (pool) name; a label value in metrics. */
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "use 1-64 letters, digits, dot, dash or underscore"),
    /** Model id (from `models`) this deployment serves. */
    model: z.string().min(1),
    provider: z.string().min(1).default("simulated"),
    region: z.string().min(1).default("local"),
    replicas: positiveInt.max(1024).default(1),
    /** Relative share of traffic for weighted routing policies. */
    weight: z.number().positive().default(1),
    backend: backendSchema,
  })
  .strict();

export const modelSchema = z
  .object({
    /** The id clients send as `model`. */
    id: z.string().regex(/^[A-Za-z0-9._:/-]{1,128}$/, "use 1-128 letters, digits or . _ : / -"),
    /** Key in the model catalog (built-in or catalog.models). */
    profile: z.string().min(1),
    /** Overrides the catalog's context length (max_model_len). */
    contextLength: positiveInt.optional(),
    /** `owned_by` in /v1/models. */
    ownedBy: z.string().default("tollgate"),
    /** Other names clients may use for this model (resolved before anything else). */
    aliases: z.array(z.string().regex(/^[A-Za-z0-9._:/-]{1,128}$/)).default([]),
    /** Models to try, in order, when this model's pool cannot serve (every replica failed or unavailable). */
    fallbacks: z.array(z.string()).default([]),
    /**
     * Canary: a share of this model's traffic goes to another model (a new version); the rest stays here.
     * Shares are fractions of all requests and add up to at most 1.
     */
    canary: z
      .array(z.object({ model: z.string(), share: z.number().gt(0).max(1) }).strict())
      .default([])
      .refine((c) => c.reduce((sum, x) => sum + x.share, 0) <= 1, {
        message: "canary shares add up to more than 1",
      }),
    /** Shadow: a share of requests is also sent to another model; its answers are discarded but measured. */
    shadow: z
      .object({ model: z.string(), share: z.number().gt(0).max(1) })
      .strict()
      .optional(),
    routing: routingSchema.prefault({}),
    /** List prices per million tokens, for revenue and margin (README: "Cost and revenue"). Unset: revenue 0. */
    pricing: z
      .object({ inputPerMillionUsd: z.number().nonnegative(), outputPerMillionUsd: z.number().nonnegative() })
      .strict()
      .optional(),
    cache: modelCacheSchema.prefault({}),
    scheduling: modelSchedulingSchema.prefault({}),
  })
  .strict();

const hardwareEntrySchema = z
  .object({
    memoryBytes: z.number().positive(),
    memoryBandwidthBytesPerS: z.number().positive(),
    peakFlops: z.object({ bf16: z.number().positive(), fp8: z.number().positive().optional() }).strict(),
    /** Per-direction bandwidth to tensor-parallel peers; default: a PCIe Gen4 x16 link. */
    interconnectBytesPerS: z.number().positive().default(32e9),
    pricePerGpuHourUsd: z.number().nonnegative(),
    source: z.string().default("config"),
  })
  .strict();

const modelEntrySchema = z
  .object({
    parameters: z.number().positive(),
    layers: positiveInt,
    queryHeads: positiveInt,
    kvHeads: positiveInt,
    headDim: positiveInt,
    contextLength: positiveInt,
    slidingWindow: positiveInt.optional(),
    source: z.string().default("config"),
  })
  .strict();

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(8080),
        /** Largest request body accepted; larger bodies get 413. */
        bodyLimitBytes: positiveInt.default(1_048_576),
        /**
         * Deepest nesting of objects and arrays accepted in a completion request body; deeper is a 400, found
         * by a linear scan before parsing, so nothing downstream can overflow the stack (README: "Input limits").
         */
        maxJsonDepth: positiveInt.max(1000).default(64),
        /** On SIGTERM: stop accepting, let in-flight requests finish for at most this long, then exit. */
        shutdownGraceMs: z.number().int().nonnegative().default(10_000),
        /** Send x-tollgate-model / -replica / -deployment / -cost-usd response headers (turn off to hide the fleet). */
        exposeRoutingHeaders: z.boolean().default(true),
        /** From a request's first byte to the end of its headers; later: 408 and the connection closed. */
        headersTimeoutMs: positiveInt.default(10_000),
        /**
         * From a request's first byte to the end of its body (Node's requestTimeout); later: 408 and the
         * connection closed. Receiving the request only: a response may stream for as long as it lasts.
         */
        requestTimeoutMs: positiveInt.default(30_000),
        /** Longest pause between two chunks of a request body; longer: 408 and the connection closed. */
        bodyIdleTimeoutMs: positiveInt.default(10_000),
        /**
         * An idle keep-alive connection is closed after this long. Behind a load balancer that reuses
         * connections, make it longer than the balancer's own idle timeout (nginx upstream: 60 s).
         */
        keepAliveTimeoutMs: positiveInt.default(5_000),
      })
      .strict()
      .prefault({}),
    /**
     * The admin API (/admin/*): clients with `Authorization: Bearer <key>`, and loopback clients without it
     * unless `requireKey`.
     */
    admin: z
      .object({
        enabled: z.boolean().default(true),
        /** Lets clients in with `Authorization: Bearer <key>`; `${ENV_NAME}` is read from the environment. */
        key: z.string().min(16, "use at least 16 characters").optional(),
        /**
         * Loopback clients must show the key too (a reverse proxy on the same host is a loopback client).
         * Default: true unless server.host is a loopback address or "localhost".
         */
        requireKey: z.boolean().optional(),
      })
      .strict()
      .prefault({}),
    /**
     * Where shared state lives (cache entries, rate limits, challenges): in memory by default; Redis when `url` is
     * set (or REDIS_URL at start-up), so a fleet of gateways shares it.
     */
    store: z
      .object({
        url: z.url({ protocol: /^rediss?$/ }).optional(),
        /** Prepended to every Redis key, so several fleets can share one Redis. */
        keyPrefix: z.string().max(64).default("tollgate:"),
        /** Bound on the in-memory store (and the local fallback while Redis is unreachable). */
        maxBytes: positiveInt.default(64 * 1024 * 1024),
        connectTimeoutMs: positiveInt.default(2_000),
        /**
         * A Redis call slower than this fails and is served locally instead, and Redis is marked down: later calls
         * go straight to local memory, so a hung Redis costs this once, not on every call.
         */
        commandTimeoutMs: positiveInt.default(500),
        /** While Redis is marked down, it is pinged this often (each ping bounded by commandTimeoutMs). */
        probeIntervalMs: positiveInt.default(1_000),
      })
      .strict()
      .prefault({}),
    guard: guardSchema.prefault({}),
    /** SLO classes, admission control and the gateway's queues (README: "Latency targets"). */
    scheduling: z
      .object({
        enabled: z.boolean().default(true),
        /** The class of a request that names none (until API keys map tenants to classes). */
        defaultClass: z.string().default("standard"),
        /**
         * Defaults from MLPerf Inference's server scenario for Llama-3.1-8B (p99 TTFT 2 s, TPOT 100 ms;
         * interactive 500 ms, 30 ms); batch is throughput work that may wait minutes.
         */
        classes: z.record(z.string().regex(/^[a-z0-9_-]{1,32}$/), sloClassSchema).default({
          interactive: {
            priority: 30,
            ttftMs: 500,
            tpotMs: 30,
            e2eMs: 30_000,
            percentile: 99,
            maxQueueMs: 500,
          },
          standard: {
            priority: 20,
            ttftMs: 2_000,
            tpotMs: 100,
            e2eMs: 120_000,
            percentile: 99,
            maxQueueMs: 2_000,
          },
          batch: {
            priority: 10,
            ttftMs: 60_000,
            tpotMs: 1_000,
            e2eMs: 1_800_000,
            percentile: 90,
            maxQueueMs: 60_000,
          },
        }),
        /**
         * While a pool is saturated, one tenant may hold at most this share of its queue and slots; above it
         * the tenant's requests get 429 instead of the gateway's 503. 1 turns it off.
         */
        tenantMaxShare: z.number().gt(0).max(1).default(1),
      })
      .strict()
      .prefault({}),
    /** The response cache and single-flight coalescing (README: "Caching"); models override mode, TTL, replay. */
    cache: z
      .object({
        enabled: z.boolean().default(true),
        mode: z.enum(["deterministic", "all", "off"]).default("deterministic"),
        ttlSeconds: positiveInt.default(3_600),
        replay: z.enum(["instant", "original"]).default("instant"),
        /** Identical requests in flight at once share one generation. */
        coalesce: z.boolean().default(true),
        /** Answers whose stored form is larger than this are not cached. */
        maxEntryBytes: positiveInt.default(1024 * 1024),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
        /** Put the prompt text in each completion's log line (off: prompts are user data). */
        prompts: z.boolean().default(false),
      })
      .strict()
      .default({ level: "info", prompts: false }),
    /** Seed for every stochastic choice of the simulated backends (faults, output lengths, text). */
    seed: z.number().int().default(42),
    tokenizer: z.enum(["cl100k_base"]).default("cl100k_base"),
    catalog: z
      .object({
        hardware: z.record(z.string(), hardwareEntrySchema).default({}),
        models: z.record(z.string(), modelEntrySchema).default({}),
      })
      .strict()
      .default({ hardware: {}, models: {} }),
    /** Engine defaults for every simulated deployment; a deployment's own values win. */
    defaults: z
      .object({
        engine: engineSchema.default({}),
        efficiency: efficiencySchema.default(efficiencySchema.parse({})),
        output: outputSchema.default(outputSchema.parse({})),
      })
      .strict()
      .default({
        engine: {},
        efficiency: efficiencySchema.parse({}),
        output: outputSchema.parse({}),
      }),
    models: z.array(modelSchema).min(1, "declare at least one model"),
    deployments: z.array(deploymentSchema).min(1, "declare at least one deployment"),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.infer<typeof configSchema>;
export type DeploymentConfig = z.infer<typeof deploymentSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type SimulatedBackendConfig = z.infer<typeof simulatedBackendSchema>;
export type OpenAiHttpBackendConfig = z.infer<typeof openAiHttpBackendSchema>;
export type RoutingConfig = z.infer<typeof routingSchema>;
export type CacheConfig = z.infer<typeof configSchema>["cache"];
export type ModelCacheConfig = z.infer<typeof modelCacheSchema>;
export type SloClassConfig = z.infer<typeof sloClassSchema>;
export type ModelSchedulingConfig = z.infer<typeof modelSchedulingSchema>;
export type SchedulingConfig = z.infer<typeof configSchema>["scheduling"];
export type GuardConfig = z.infer<typeof guardSchema>;
export type LimitsConfig = z.infer<typeof limitsSchema>;
export type StoreConfig = z.infer<typeof configSchema>["store"];
export type PolicyName = (typeof policyNames)[number];
export type HardwareEntry = z.infer<typeof hardwareEntrySchema>;
export type ModelEntry = z.infer<typeof modelEntrySchema>;
