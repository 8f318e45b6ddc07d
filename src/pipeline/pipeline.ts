import type { CacheDirectives } from "../cache/cache-control.js";
import type { ResponseCache } from "../cache/response-cache.js";
import type { OpenedGeneration } from "../cache/types.js";
import type { GatewayEvent, GenerationRequest, ServedDoneEvent } from "../core/types.js";
import type { Metrics } from "../metrics/metrics.js";
import { judge, type SloClass, type SloClasses } from "../scheduling/slo.js";

/**
 * The serving pipeline after validation, without HTTP: the cache stage, then (as its downstream) scheduling and
 * routing. Every response's `done` event is judged against the request's SLO class here, so answers from the
 * cache, shared generations and fresh ones are all counted, live or in the simulator.
 */
export class Pipeline {
  readonly #cache: ResponseCache;
  readonly #classes: SloClasses;
  readonly #metrics: Metrics;
  readonly #series = new Map<string, { inc(): void }>();

  constructor(options: { cache: ResponseCache; classes: SloClasses; metrics: Metrics }) {
    this.#cache = options.cache;
    this.#classes = options.classes;
    this.#metrics = options.metrics;
  }

  /** The class a request runs in, from the client's `x-tollgate-slo-class` (only lowers; 400 when unknown). */
  sloClass(requested: string | undefined, own?: string): SloClass {
    return this.#classes.resolve(requested, own === undefined ? undefined : this.#classes.get(own));
  }

  async open(
    request: GenerationRequest,
    options: {
      signal: AbortSignal;
      directives: CacheDirectives;
      /** Called with the final event (usage known): the guard charges completion tokens here. */
      onDone?: (done: ServedDoneEvent) => void;
    },
  ): Promise<OpenedGeneration> {
    const opened = await this.#cache.open(request, options);
    const slo = this.#classes.get(request.sloClass ?? "") ?? this.#classes.defaultClass;
    return { ...opened, events: this.#judged(opened.events, request, slo, options.onDone) };
  }

  /** The events with the verdict added to `done` (a plain iterator: this sits on every token's path). */
  #judged(
    events: AsyncIterable<GatewayEvent>,
    request: GenerationRequest,
    slo: SloClass,
    onDone: ((done: ServedDoneEvent) => void) | undefined,
  ): AsyncIterable<GatewayEvent> {
    const inner = events[Symbol.asyncIterator]();
    let firstTokenMs: number | undefined;
    const iterator: AsyncIterableIterator<GatewayEvent> = {
      next: () =>
        inner.next().then((result) => {
          if (result.done) return result;
          const event = result.value;
          if (event.type === "token") {
            firstTokenMs ??= event.atMs;
            return result;
          }
          const verdict = judge(slo, {
            arrivalMs: request.arrivalMs,
            firstTokenMs: firstTokenMs ?? event.timings.endMs,
            endMs: event.timings.endMs,
            completionTokens: event.usage.completionTokens,
          });
          this.#count(event.servedBy.model, slo.name, "ttft", verdict.ttft);
          this.#count(event.servedBy.model, slo.name, "tpot", verdict.tpot);
          this.#count(event.servedBy.model, slo.name, "e2e", verdict.e2e);
          this.#count(event.servedBy.model, slo.name, "all", verdict.met);
          const judged = { ...event, slo: verdict };
          onDone?.(judged);
          return { done: false, value: judged };
        }),
      return: async (value?: unknown) => {
        await inner.return?.(value);
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  #count(model: string, slo: string, target: string, met: boolean): void {
    const result = met ? "met" : "missed";
    const id = `${model}\u0000${slo}\u0000${target}\u0000${result}`;
    let child = this.#series.get(id);
    if (child === undefined) {
      child = this.#metrics.slo.labels({ model, class: slo, target, result });
      this.#series.set(id, child);
    }
    child.inc();
  }
}
