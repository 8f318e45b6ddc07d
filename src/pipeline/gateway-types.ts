import type { Logger } from "pino";
import type { TokenPricing } from "../accounting/cost.js";
import type { Backend } from "../backends/backend.js";
import type { RoutingConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { Tokenizer } from "../core/tokenizer.js";
import type { ChatMessage } from "../core/types.js";
import type { Metrics } from "../metrics/metrics.js";

/** The gateway's inputs: served models, dependencies and requests to prepare (its events are in core/types.ts). */

/** What the gateway knows of a served model. */
export interface ServedModelInfo {
  id: string;
  ownedBy: string;
  contextLength: number;
  aliases?: readonly string[];
  /** Models tried in order when this one's pool cannot serve. */
  fallbacks?: readonly string[];
  /** Shares of traffic sent to other models instead (canary versions). */
  canary?: ReadonlyArray<{ model: string; share: number }>;
  /** A share of requests also sent to another model, answers discarded, outcome and latency measured. */
  shadow?: { model: string; share: number };
  /** List prices per million tokens, for revenue and margin. */
  pricing?: TokenPricing;
  routing: RoutingConfig;
}

export interface GatewayDeps {
  models: readonly ServedModelInfo[];
  backends: readonly Backend[];
  /** Relative traffic share per deployment, for weighted policies (default 1). */
  deploymentWeights?: Readonly<Record<string, number>>;
  clock: Clock;
  tokenizer: Tokenizer;
  metrics: Metrics;
  logger: Logger;
  /** Seeds routing's randomness (weighted choice, backoff jitter). */
  seed?: number;
}

/** Sampling parameters of one request, normalised by the API layer. */
export interface SamplingInput {
  maxTokens: number | undefined;
  temperature: number;
  topP: number;
  stop: readonly string[];
  seed: number | undefined;
}

export type PrepareInput = {
  requestId: string;
  model: string;
  sampling: SamplingInput;
  /** Clock time the request arrived; defaults to now. */
  arrivalMs?: number;
  /** Other body fields that may change the answer, as canonical JSON (see GenerationRequest.variant). */
  variant?: string;
  /** The SLO class the request runs in. */
  sloClass?: string;
  tenant?: string;
  /** The client's tier (a metrics label). */
  tier?: string;
} & (
  | {
      kind: "chat";
      messages: readonly ChatMessage[];
      /** Token ids of each message's content when the caller already has them (see Tokenizer.encodeChat). */
      contentTokens?: readonly (readonly number[] | undefined)[];
    }
  | { kind: "completion"; prompt: string }
);
