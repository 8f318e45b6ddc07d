import type { Backend } from "../backends/backend.js";
import type { GenerationEvent, GenerationRequest } from "../core/types.js";
import type { VllmFinishedRequest } from "../metrics/vllm-metrics.js";

/** What the engine-side metrics hear about each generation (VllmMetrics implements it). */
export interface GenerationObserver {
  /** The request's first token exists: its prompt has been prefilled. */
  prefillDone(modelName: string, promptTokens: number): void;
  /** Tokens produced in one step; `interTokenSeconds` is the gap since the request's previous tokens. */
  tokens(modelName: string, count: number, interTokenSeconds: number | undefined): void;
  finished(request: VllmFinishedRequest): void;
}

/**
 * Wraps a replica so that every generation it runs is reported to `observer`, from the engine's side of the
 * wire (its own arrival, scheduling and token times), which is what vLLM's metrics measure. Events pass
 * through unchanged; a generation that ends without `done` and without an error was aborted by its client.
 */
export function observeGenerations(backend: Backend, observer: GenerationObserver): Backend {
  const modelName = backend.replica.model;
  async function* generate(request: GenerationRequest, signal: AbortSignal): AsyncGenerator<GenerationEvent> {
    let lastTokenMs: number | undefined;
    let generated = 0;
    let finished = false;
    let failed = false;
    try {
      for await (const event of backend.generate(request, signal)) {
        if (event.type === "token") {
          if (lastTokenMs === undefined) observer.prefillDone(modelName, request.promptTokens.length);
          const gap = lastTokenMs === undefined ? undefined : (event.atMs - lastTokenMs) / 1000;
          observer.tokens(modelName, event.tokens, gap);
          lastTokenMs = event.atMs;
          generated += event.tokens;
        } else {
          finished = true;
          const t = event.timings;
          observer.finished({
            modelName,
            finishedReason: event.finishReason,
            promptTokens: event.usage.promptTokens,
            generationTokens: event.usage.completionTokens,
            queueSeconds: Math.max(0, t.scheduledMs - t.arrivalMs) / 1000,
            ttftSeconds: event.usage.completionTokens > 0 ? (t.firstTokenMs - t.arrivalMs) / 1000 : undefined,
            prefillSeconds: Math.max(0, t.firstTokenMs - t.scheduledMs) / 1000,
            decodeSeconds: Math.max(0, t.endMs - t.firstTokenMs) / 1000,
            e2eSeconds: (t.endMs - t.arrivalMs) / 1000,
          });
        }
        yield event;
      }
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // Rejected or failed requests never ran to an end; only a client leaving mid-way is an abort.
      if (!finished && !failed) {
        observer.finished({
          modelName,
          finishedReason: "abort",
          promptTokens: request.promptTokens.length,
          generationTokens: generated,
          queueSeconds: 0,
          ttftSeconds: undefined,
          prefillSeconds: 0,
          decodeSeconds: 0,
          e2eSeconds: 0,
        });
      }
    }
  }
  const observed: Backend = {
    replica: backend.replica,
    generate,
    snapshot: () => backend.snapshot(),
    close: () => backend.close(),
  };
  if (backend.stats) {
    const stats = backend.stats.bind(backend);
    observed.stats = () => stats();
  }
  return observed;
}
