import { Pool } from "undici";
import { GatewayError } from "../../core/errors.js";
import type { GenerationEvent, GenerationRequest } from "../../core/types.js";
import type { Backend, ReplicaInfo, ReplicaSnapshot } from "../backend.js";
import { type GenerationDeps, streamGeneration } from "./generation.js";
import { type OpenAiHttpBackendOptions, validateOpenAiHttpOptions } from "./options.js";
import { PassiveHealth } from "./passive-health.js";

/**
 * A replica that is an OpenAI-compatible server (vLLM, Ollama, OpenAI, another Tollgate), behind the
 * {@link Backend} interface. Requests go over an undici Pool of keep-alive connections (about 3x the
 * throughput of global fetch here) and always stream, so tokens pass through as the upstream sends them.
 *
 * Errors, as GatewayErrors (any error after the first token is not retryable: the client has part of an answer):
 *
 * | upstream                                            | code                       | retryable |
 * |-----------------------------------------------------|----------------------------|-----------|
 * | connection refused / reset / DNS failure            | backend_error              | yes       |
 * | connect timeout, no first token within firstTokenMs | timeout                    | yes       |
 * | totalMs exceeded                                    | timeout                    | before the first token only |
 * | 429 (Retry-After -> retryAfterSeconds)              | rate_limit_exceeded        | yes       |
 * | 5xx (Retry-After kept when sent)                    | backend_error              | yes       |
 * | 400, 422 (upstream message and param kept)          | invalid_request, or the upstream's context_length_exceeded / unsupported_parameter | no |
 * | 404 / 413 (upstream message kept)                   | model_not_found / request_too_large | no |
 * | 408                                                 | timeout                    | yes       |
 * | 401, 403 (the gateway's upstream key is wrong)      | backend_error              | yes       |
 * | other 3xx/4xx, non-SSE 200                          | backend_error              | no / yes  |
 * | `error` event or malformed chunk inside the stream  | backend_error              | before the first token only |
 * | stream closed before a finish reason or `[DONE]`    | backend_error              | before the first token only |
 *
 * Cost: `done.gpuSeconds` is 0 because an external server's accelerator time is unknown. Deriving a cost from
 * price x duration is deliberately not attempted here: a shared upstream batches many requests on one GPU, so
 * wall time would overcharge every one of them. A per-token price belongs to the accounting stage.
 */
export type { OpenAiHttpBackendOptions } from "./options.js";

export class OpenAiHttpBackend implements Backend {
  readonly replica: ReplicaInfo;
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #health: PassiveHealth;
  /** What every generation shares, built once rather than per request. */
  readonly #generationDeps: GenerationDeps;
  #running = 0;
  #closed = false;

  constructor(options: OpenAiHttpBackendOptions) {
    validateOpenAiHttpOptions(options);
    this.replica = options.replica;
    const url = new URL(options.baseUrl);
    this.#basePath = url.pathname.replace(/\/+$/, "");
    this.#pool = new Pool(url.origin, {
      connections: options.connections,
      connect: { timeout: options.timeouts.connectMs },
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
    headers["content-type"] = "application/json";
    headers["accept"] = "text/event-stream";
    if (options.apiKey !== undefined) headers["authorization"] = `Bearer ${options.apiKey}`;
    this.#headers = Object.freeze(headers);
    this.#health = new PassiveHealth({
      clock: options.clock,
      failuresBeforeUnready: options.health?.failuresBeforeUnready ?? 3,
      probeAfterMs: options.health?.probeAfterMs ?? 5000,
    });
    this.#generationDeps = {
      pool: this.#pool,
      basePath: this.#basePath,
      headers: this.#headers,
      upstreamModel: options.upstreamModel,
      timeouts: options.timeouts,
      clock: options.clock,
      replicaId: this.replica.id,
      health: this.#health,
      isClosed: () => this.#closed,
      // Counted by the generation itself, which ends the count when it releases (at its done event at the
      // latest), not when its iterator is finally returned: a consumer may never return it.
      onStart: () => {
        this.#running++;
      },
      onEnd: () => {
        this.#running--;
      },
    };
  }

  generate(request: GenerationRequest, signal: AbortSignal): AsyncIterable<GenerationEvent> {
    return streamGeneration(this.#generationDeps, request, signal);
  }

  /** Active health check: `GET /v1/models`, which every OpenAI-compatible server answers. */
  async probe(signal: AbortSignal): Promise<void> {
    if (this.#closed) throw new GatewayError("service_unavailable", `replica ${this.replica.id} is closed`);
    const headers: Record<string, string> = { ...this.#headers };
    delete headers["content-type"];
    headers["accept"] = "application/json";
    const response = await this.#pool.request({
      method: "GET",
      path: `${this.#basePath}/v1/models`,
      headers,
      signal,
    });
    await response.body.dump();
    // 404: a server without a model list is still up. 401/403: our key is refused, so no request would work.
    if (response.statusCode >= 500 || response.statusCode === 401 || response.statusCode === 403) {
      throw new GatewayError(
        "backend_error",
        `health check of ${this.replica.id} got HTTP ${response.statusCode}`,
      );
    }
  }

  snapshot(): ReplicaSnapshot {
    // An upstream's queue and KV cache are invisible from here: only this gateway's in-flight requests count.
    return {
      ready: !this.#closed && this.#health.ready,
      running: this.#running,
      waiting: 0,
      kvCacheUsage: 0,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.destroy();
  }
}

export function createOpenAiHttpBackend(options: OpenAiHttpBackendOptions): Backend {
  return new OpenAiHttpBackend(options);
}
