import { hashString, SeededRandom } from "../../src/core/random.js";
import {
  drawLength,
  type LengthDistribution,
  pickWeighted,
  SpecProblems,
  weightedTable,
  wordText,
} from "../../src/simulate/sampling.js";

export { type LengthDistribution, wordText } from "../../src/simulate/sampling.js";

export interface WorkloadSpec {
  seed: number;
  model: string;
  /** Length of the user message, in cl100k tokens. */
  promptTokens: LengthDistribution;
  /** Sent as `max_tokens`. */
  outputTokens: LengthDistribution;
  /** `ratio` of requests start with one of `prefixes` system prompts of `tokens` tokens (uniform over prefixes). */
  sharedPrefix: { ratio: number; prefixes: number; tokens: number };
  /** Fraction of requests that exactly repeat one of the last {@link REPEAT_POOL_SIZE} distinct requests. */
  repeatRatio: number;
  /** Class name -> weight, sent as `x-tollgate-slo-class`; an empty object sends no header. */
  sloClassMix: Record<string, number>;
  /** Fraction of requests sent with `authorization: Bearer <key>`, the key uniform over `apiKeys`. */
  keyedRatio: number;
  apiKeys: readonly string[];
  stream: boolean;
  /** Adds `stream_options.include_usage` to streamed requests. */
  includeUsage: boolean;
  temperature: number;
}

export interface WorkloadRequest {
  body: Record<string, unknown>;
  /** `JSON.stringify(body)`, computed once so a load generator never re-serialises. */
  bodyText: string;
  headers: Record<string, string>;
  /** Tokens in the message contents (shared prefix + user message), excluding the chat template's framing. */
  promptTokens: number;
  /** Tokens in the user message alone: the draw from `spec.promptTokens`. */
  userTokens: number;
  maxTokens: number;
  sloClass?: string;
  apiKey?: string;
  repeated: boolean;
  prefixId?: number;
}

export interface Workload {
  next(): WorkloadRequest;
}

/** Distinct requests kept for exact repeats: bounded memory, and repeats stay recent, as cache-friendly traffic is. */
export const REPEAT_POOL_SIZE = 1000;

/**
 * A chat workload shaped like conversational traffic.
 *
 * Length medians come from the Azure LLM inference trace of conversation requests published with Splitwise
 * (Patel et al., "Splitwise: Efficient Generative LLM Inference Using Phase Splitting", ISCA 2024): median prompt
 * about 1,020 tokens, median output about 129 tokens. The sigmas (0.9 for prompts, 0.8 for outputs) are our
 * assumption, chosen to give the heavy right tail the trace shows, not fitted to it. Clamps keep prompts inside an
 * 8k context with room for the output. Half of the requests share one of four 512-token system prompts, so prefix
 * caching has something to find. No repeats, no SLO classes, no API keys: scenarios opt in.
 */
export const CHAT_WORKLOAD: Readonly<WorkloadSpec> = Object.freeze({
  seed: 1,
  model: "llama-3.1-8b-instruct",
  promptTokens: Object.freeze({ median: 1020, sigma: 0.9, min: 16, max: 8000 }),
  outputTokens: Object.freeze({ median: 129, sigma: 0.8, min: 1, max: 1024 }),
  sharedPrefix: Object.freeze({ ratio: 0.5, prefixes: 4, tokens: 512 }),
  repeatRatio: 0,
  sloClassMix: Object.freeze({}),
  keyedRatio: 0,
  apiKeys: Object.freeze([]),
  stream: false,
  includeUsage: true,
  temperature: 0,
});

/**
 * A reproducible stream of chat requests: the same spec (seed included) yields byte-identical requests.
 * Throws at construction, naming the field, if the spec is invalid.
 */
export function createWorkload(spec: WorkloadSpec): Workload {
  validateSpec(spec);
  // Two streams: text generation draws once per token, so keeping it apart means a change to a length
  // distribution does not reshuffle every later decision (repeat, prefix, key, class).
  const decisions = new SeededRandom(hashString("decisions", spec.seed));
  const text = new SeededRandom(hashString("text", spec.seed));
  const prefixes = Array.from({ length: spec.sharedPrefix.prefixes }, (_, i) =>
    wordText(new SeededRandom(hashString(`prefix-${i}`, spec.seed)), spec.sharedPrefix.tokens),
  );
  const classes = weightedTable(spec.sloClassMix);
  const pool: WorkloadRequest[] = [];
  let poolNext = 0;

  const fresh = (): WorkloadRequest => {
    const userTokens = drawLength(decisions, spec.promptTokens);
    const maxTokens = drawLength(decisions, spec.outputTokens);
    const prefixId =
      prefixes.length > 0 && decisions.next() < spec.sharedPrefix.ratio
        ? Math.floor(decisions.next() * prefixes.length)
        : undefined;
    const apiKey =
      spec.apiKeys.length > 0 && decisions.next() < spec.keyedRatio
        ? spec.apiKeys[Math.floor(decisions.next() * spec.apiKeys.length)]
        : undefined;
    const sloClass = classes === undefined ? undefined : pickWeighted(classes, decisions.next());

    const messages: { role: string; content: string }[] = [];
    if (prefixId !== undefined) messages.push({ role: "system", content: prefixes[prefixId]! });
    messages.push({ role: "user", content: wordText(text, userTokens) });
    const body: Record<string, unknown> = {
      model: spec.model,
      messages,
      max_tokens: maxTokens,
      temperature: spec.temperature,
      stream: spec.stream,
    };
    if (spec.stream && spec.includeUsage) body["stream_options"] = { include_usage: true };

    const headers: Record<string, string> = { "content-type": "application/json" };
    if (apiKey !== undefined) headers["authorization"] = `Bearer ${apiKey}`;
    if (sloClass !== undefined) headers["x-tollgate-slo-class"] = sloClass;

    const request: WorkloadRequest = {
      body,
      bodyText: JSON.stringify(body),
      headers,
      promptTokens: userTokens + (prefixId === undefined ? 0 : spec.sharedPrefix.tokens),
      userTokens,
      maxTokens,
      repeated: false,
    };
    if (prefixId !== undefined) request.prefixId = prefixId;
    if (apiKey !== undefined) request.apiKey = apiKey;
    if (sloClass !== undefined) request.sloClass = sloClass;
    return request;
  };

  return {
    next(): WorkloadRequest {
      if (pool.length > 0 && decisions.next() < spec.repeatRatio) {
        const original = pool[Math.floor(decisions.next() * pool.length)]!;
        // Same body object and text, same headers: a byte-identical resend.
        return { ...original, repeated: true };
      }
      const request = fresh();
      // A ring buffer of the last REPEAT_POOL_SIZE distinct requests.
      if (pool.length < REPEAT_POOL_SIZE) pool.push(request);
      else pool[poolNext] = request;
      poolNext = (poolNext + 1) % REPEAT_POOL_SIZE;
      return request;
    },
  };
}

function validateSpec(spec: WorkloadSpec): void {
  const problems = new SpecProblems();
  problems.check(Number.isFinite(spec.seed), "seed", "must be a finite number", spec.seed);
  problems.check(spec.model.length > 0, "model", "must not be empty", spec.model);
  problems.lengths("promptTokens", spec.promptTokens);
  problems.lengths("outputTokens", spec.outputTokens);
  problems.sharedPrefix(spec.sharedPrefix);
  problems.fraction("repeatRatio", spec.repeatRatio);
  problems.fraction("keyedRatio", spec.keyedRatio);
  problems.classWeights(spec.sloClassMix);
  const weights = Object.values(spec.sloClassMix);
  problems.check(
    weights.length === 0 || weights.reduce((sum, w) => sum + w, 0) > 0,
    "sloClassMix",
    "must have a positive weight",
    spec.sloClassMix,
  );
  problems.check(
    spec.keyedRatio === 0 || spec.apiKeys.length > 0,
    "apiKeys",
    "must not be empty when keyedRatio > 0",
    spec.apiKeys,
  );
  problems.temperature(spec.temperature);
  problems.throwIfAny("invalid workload spec");
}
