import { routingSchema } from "../../src/config/schema.js";
import { VirtualClock } from "../../src/core/clock.js";
import { SeededRandom } from "../../src/core/random.js";
import type { GenerationRequest } from "../../src/core/types.js";
import type { ServedModelInfo } from "../../src/pipeline/gateway-types.js";
import { ModelTable } from "../../src/pipeline/model-table.js";
import { ScriptedBackend } from "../helpers/scripted-backend.js";

/** Model tables of scripted replicas (one per model), for the pipeline's unit tests. */

const routing = routingSchema.parse({});
const SCRIPT = { words: ["a"], ttftMs: 1, itlMs: 1 };

export function model(id: string, extra: Partial<ServedModelInfo> = {}): ServedModelInfo {
  return { id, ownedBy: "test", contextLength: 4096, routing, ...extra };
}

export function replica(clock: VirtualClock, modelId: string, index: number, maxContextTokens?: number) {
  const backend = new ScriptedBackend({ clock, script: SCRIPT, model: modelId, deployment: modelId, index });
  if (maxContextTokens !== undefined) backend.replica.maxContextTokens = maxContextTokens;
  return backend;
}

export function table(models: ServedModelInfo[], contexts: Record<string, number | undefined> = {}) {
  const clock = new VirtualClock();
  const backends = models.map((m, i) => replica(clock, m.id, i, contexts[m.id]));
  return { table: new ModelTable({ models, backends, clock, random: new SeededRandom(1) }), backends };
}

export function request(promptTokens: number, maxTokens: number): GenerationRequest {
  return {
    id: "r1",
    model: "main",
    kind: "completion",
    promptText: "x",
    promptTokens: Array.from({ length: promptTokens }, () => 1),
    maxTokens,
    stop: [],
    temperature: 1,
    topP: 1,
    arrivalMs: 0,
  };
}
