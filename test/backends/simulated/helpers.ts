import { NO_FAULTS } from "../../../src/backends/simulated/defaults.js";
import {
  createSimulatedBackend,
  type SimulatedBackend,
} from "../../../src/backends/simulated/simulated-backend.js";
import type {
  EfficiencySettings,
  EngineSettings,
  FaultSettings,
  OutputSettings,
  SimulatedBackendOptions,
} from "../../../src/backends/simulated/types.js";
import { HARDWARE_CATALOG, type HardwareProfile } from "../../../src/config/catalog/hardware.js";
import {
  kvBytesPerToken,
  MODEL_CATALOG,
  type ModelProfile,
  weightBytes,
} from "../../../src/config/catalog/models.js";
import { VirtualClock } from "../../../src/core/clock.js";
import type { DoneEvent, GenerationEvent, GenerationRequest, TokenEvent } from "../../../src/core/types.js";

export const H100 = HARDWARE_CATALOG["H100-SXM-80GB"] as HardwareProfile;
export const L4 = HARDWARE_CATALOG["L4"] as HardwareProfile;
export const LLAMA_8B = MODEL_CATALOG["Llama-3.1-8B"] as ModelProfile;
export const QWEN_05B = MODEL_CATALOG["Qwen2.5-0.5B"] as ModelProfile;

export const TEST_ENGINE: EngineSettings = {
  maxNumSeqs: 256,
  maxNumBatchedTokens: 8192,
  blockSize: 16,
  gpuMemoryUtilization: 0.9,
  activationReserveBytes: 2e9,
  prefixCaching: true,
};

/**
 * The efficiency these tests' hand-computed step times assume (the starting points from serving.md), pinned
 * here so that recalibrating the shipped defaults does not move what the engine tests check.
 */
export const TEST_EFFICIENCY: EfficiencySettings = {
  mbu: 0.6,
  mfuMin: 0.35,
  mfuMax: 0.6,
  mfuRampTokens: 2048,
  stepOverheadMs: 1,
  allReduceLatencyUs: 10,
};

/** Natural lengths far above any test's maxTokens, so completions end on "length" unless a test says so. */
export const LONG_OUTPUT: OutputSettings = { lengthMedian: 1e6, lengthSigma: 0 };

export interface Setup {
  hardware?: HardwareProfile;
  model?: ModelProfile;
  tensorParallel?: number;
  precision?: SimulatedBackendOptions["precision"];
  engine?: Partial<EngineSettings>;
  efficiency?: Partial<EfficiencySettings>;
  output?: OutputSettings;
  faults?: Partial<FaultSettings>;
  seed?: number;
  /** Size the KV pool to exactly this many blocks (through the activation reserve). */
  kvBlocks?: number;
}

export function makeBackend(setup: Setup = {}): { clock: VirtualClock; backend: SimulatedBackend } {
  const clock = new VirtualClock();
  const hardware = setup.hardware ?? H100;
  const model = setup.model ?? LLAMA_8B;
  const tensorParallel = setup.tensorParallel ?? 1;
  const precision = setup.precision ?? "bf16";
  const engine = { ...TEST_ENGINE, ...setup.engine };
  if (setup.kvBlocks !== undefined) {
    const blockBytes = (engine.blockSize * kvBytesPerToken(model, "bf16")) / tensorParallel;
    const usable = hardware.memoryBytes * engine.gpuMemoryUtilization;
    engine.activationReserveBytes =
      usable - weightBytes(model, precision) / tensorParallel - (setup.kvBlocks + 0.5) * blockBytes;
  }
  const backend = createSimulatedBackend({
    replica: {
      id: "sim/0",
      deployment: "sim",
      model: model.name,
      provider: "test",
      region: "local",
      gpu: hardware.name,
      gpuCount: tensorParallel,
      pricePerGpuHourUsd: hardware.pricePerGpuHourUsd,
    },
    hardware,
    model,
    precision,
    kvCacheDtype: "bf16",
    tensorParallel,
    engine,
    efficiency: { ...TEST_EFFICIENCY, ...setup.efficiency },
    output: setup.output ?? LONG_OUTPUT,
    faults: { ...NO_FAULTS, ...setup.faults },
    clock,
    seed: setup.seed ?? 42,
  });
  return { clock, backend };
}

/** Distinct, deterministic token ids for a prompt of `length` tokens. */
export function promptTokens(length: number, salt = 0): number[] {
  return Array.from({ length }, (_, i) => 1000 + ((i * 7919 + salt * 104_729) % 90_000));
}

export function makeRequest(
  id: string,
  options: Partial<GenerationRequest> & { promptLength?: number } = {},
): GenerationRequest {
  const tokens = options.promptTokens ?? promptTokens(options.promptLength ?? 100, hashSalt(id));
  return {
    id,
    model: LLAMA_8B.name,
    kind: "completion",
    promptText: options.promptText ?? `prompt of ${id}`,
    promptTokens: tokens,
    maxTokens: options.maxTokens ?? 16,
    stop: options.stop ?? [],
    temperature: options.temperature ?? 0,
    topP: 1,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    arrivalMs: options.arrivalMs ?? 0,
  };
}

function hashSalt(id: string): number {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) % 1000;
  return h;
}

export interface Outcome {
  tokens: TokenEvent[];
  text: string;
  done: DoneEvent | undefined;
  error: unknown;
}

/** Drains a generation; never rejects (the error, if any, is in the outcome). */
export async function collect(events: AsyncIterable<GenerationEvent>): Promise<Outcome> {
  const outcome: Outcome = { tokens: [], text: "", done: undefined, error: undefined };
  try {
    for await (const event of events) {
      if (event.type === "token") {
        outcome.tokens.push(event);
        outcome.text += event.text;
      } else {
        outcome.done = event;
      }
    }
  } catch (error) {
    outcome.error = error;
  }
  return outcome;
}

export function run(
  backend: SimulatedBackend,
  request: GenerationRequest,
  signal?: AbortSignal,
): Promise<Outcome> {
  return collect(backend.generate(request, signal ?? new AbortController().signal));
}

export function doneOf(outcome: Outcome): DoneEvent {
  if (outcome.done === undefined) throw new Error(`no done event (error: ${String(outcome.error)})`);
  return outcome.done;
}
