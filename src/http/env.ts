import type { HttpBindings } from "@hono/node-server";
import type { Logger } from "pino";
import type { Clock } from "../core/clock.js";
import type { Admission } from "../guard/guard.js";
import type { Gateway } from "../pipeline/gateway.js";
import type { Pipeline } from "../pipeline/pipeline.js";
import type { ConnectionInfo } from "./connection.js";

/** Per-request values carried through Hono's typed context. */
export interface AppEnv {
  /**
   * The raw Node request and response under @hono/node-server, with the connection's facts recorded when it
   * was accepted (server.ts); all absent under app.request(). `inProcess` is set only by in-process callers
   * (tests, tools) through app.request(path, init, IN_PROCESS): the network path never sets it.
   */
  Bindings: Partial<HttpBindings> & { connection?: ConnectionInfo; inProcess?: true };
  Variables: {
    requestId: string;
    /** Endpoint label for metrics (a closed set). */
    endpoint: string;
    /** Model label for metrics: a configured model id, or "unknown". */
    model: string;
    logger: Logger;
    /** Set by the guard middleware on completion routes. */
    admission?: Admission;
    /** What served a completion request, accumulated over its generations (for its log line). */
    served?: ServedSummary;
    /** The prompt text, logged only with log.prompts. */
    prompt?: string;
    /** The error code of a failed request. */
    errorCode?: string;
    /** Longest wait for the next chunk of a request body before a 408 (0: none). */
    bodyIdleTimeoutMs: number;
  };
}

/** The bindings of an in-process caller: the admin API serves it without a network peer or key. */
export const IN_PROCESS: AppEnv["Bindings"] = Object.freeze({ inProcess: true });

/** A completion request's outcome for its structured log line. */
export interface ServedSummary {
  sloClass: string;
  tier: string;
  deployment: string;
  finishReason: string;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  sloMet: boolean | undefined;
  cache: string;
}

/** What route modules need, handed in by createApp. */
export interface RouteDeps {
  gateway: Gateway;
  /** Cache, scheduling and routing after validation, with SLO judgement. */
  pipeline: Pipeline;
  clock: Clock;
  /** Largest accepted request body in bytes (413 above). */
  bodyLimitBytes: number;
  /** Deepest JSON nesting accepted in a body (400 above). */
  maxJsonDepth: number;
  /** Send x-tollgate-model / -deployment / -replica / -cost-usd headers. */
  exposeRoutingHeaders: boolean;
}
