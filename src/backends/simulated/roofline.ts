import type { HardwareProfile } from "../../config/catalog/hardware.js";
import type { ModelProfile, Precision } from "../../config/catalog/models.js";
import type { EfficiencySettings } from "./types.js";

/**
 * The roofline step-time model (serving.md, "The analytic model"). A step runs every scheduled sequence's new
 * tokens through the model once, so per GPU:
 *
 *   memory  = (weights/TP + Σ KV tokens read x KV bytes/token/GPU) / (bandwidth x MBU)
 *   compute = (2 x params x step tokens + attention FLOPs) / TP / (peak x MFU)
 *   comm    = 2 x layers x (2 (TP-1)/TP x step tokens x hidden x 2 B / interconnect + all-reduce latency)
 *   step    = max(memory, compute) + comm + host overhead
 *
 * Attention FLOPs: per layer, a query token attending to c keys costs 2·c·d per head for QKᵀ and 2·c·d for
 * the weighted sum over V, i.e. 4 x layers x queryHeads x headDim x Σ_tokens(attended context), with the
 * attended context of the token at position p being min(p + 1, slidingWindow). The KV read for a sequence is
 * its context after the step, capped at window + new tokens under sliding-window attention.
 *
 * Tensor parallelism (Megatron-style, as vLLM and TensorRT-LLM shard): each layer all-reduces its activations
 * twice, after attention and after the MLP; a ring all-reduce moves 2 (TP-1)/TP of the buffer (step tokens x
 * hidden size x 2 bytes, activations in 16-bit) over each GPU's link, plus a fixed latency. It is not
 * overlapped with compute (an assumption: the engines overlap little of it at these sizes). Ignored, as
 * second-order next to these terms: activation traffic to memory, KV writes.
 */
export interface SequenceWork {
  /** Tokens whose KV is already in the cache before this step. */
  contextTokens: number;
  /** Tokens the step computes for this sequence (1 for a decode, a chunk for a prefill). */
  newTokens: number;
}

export interface StepEstimate {
  memoryMs: number;
  computeMs: number;
  /** Tensor-parallel all-reduce time (0 at TP 1). */
  commMs: number;
  /** The MFU used for this step's token count. */
  mfu: number;
  /** max(memory, compute) + comm + stepOverheadMs, before any fault multiplier. */
  stepMs: number;
}

export interface LatencyModelInput {
  hardware: HardwareProfile;
  model: ModelProfile;
  precision: Precision;
  tensorParallel: number;
  efficiency: EfficiencySettings;
  weightBytesPerGpu: number;
  kvBytesPerTokenPerGpu: number;
}

export interface LatencyModel {
  /** FLOP/s of one GPU at the precision the matmuls run in. */
  readonly peakFlopsPerGpu: number;
  estimate(work: readonly SequenceWork[]): StepEstimate;
}

/**
 * fp8 weights run on fp8 tensor cores when the GPU has them (W8A8); otherwise, and for int4 (weight-only
 * quantisation, dequantised to bf16 in the kernel), the math runs at the bf16 peak.
 */
export function peakFlopsFor(hardware: HardwareProfile, precision: Precision): number {
  return precision === "fp8" && hardware.peakFlops.fp8 !== undefined
    ? hardware.peakFlops.fp8
    : hardware.peakFlops.bf16;
}

/** Achieved MFU rises linearly with the step's token count: small steps cannot fill the tensor cores. */
export function mfuFor(efficiency: EfficiencySettings, stepTokens: number): number {
  const ramp = efficiency.mfuRampTokens > 0 ? Math.min(1, stepTokens / efficiency.mfuRampTokens) : 1;
  return efficiency.mfuMin + (efficiency.mfuMax - efficiency.mfuMin) * ramp;
}

/** Σ over the new tokens at positions context..context+n-1 of min(position + 1, window), in closed form. */
export function attendedContextSum(contextTokens: number, newTokens: number, window?: number): number {
  const first = contextTokens + 1;
  const last = contextTokens + newTokens;
  if (newTokens <= 0) return 0;
  if (window === undefined || last <= window) return arithmeticSum(first, last);
  if (first > window) return newTokens * window;
  return arithmeticSum(first, window) + (last - window) * window;
}

function arithmeticSum(from: number, to: number): number {
  return ((from + to) * (to - from + 1)) / 2;
}

/** KV tokens a sequence's attention reads in a step: its whole context, or the window plus the new tokens. */
export function kvTokensRead(work: SequenceWork, window?: number): number {
  const total = work.contextTokens + work.newTokens;
  return window === undefined ? total : Math.min(total, window + work.newTokens);
}

export function createLatencyModel(input: LatencyModelInput): LatencyModel {
  const { model, efficiency, tensorParallel: tp } = input;
  const peakFlopsPerGpu = peakFlopsFor(input.hardware, input.precision);
  const bandwidth = input.hardware.memoryBandwidthBytesPerS * efficiency.mbu;
  const attentionFlopsPerAttended = 4 * model.layers * model.queryHeads * model.headDim;
  const allReduces = tp > 1 ? 2 * model.layers : 0;
  // Bytes each GPU sends per step token in one all-reduce, and the fixed part of a step's all-reduces.
  const ringBytesPerToken = ((2 * (tp - 1)) / tp) * model.queryHeads * model.headDim * 2;
  const commFixedMs = (allReduces * efficiency.allReduceLatencyUs) / 1000;
  const commMsPerToken = (allReduces * ringBytesPerToken * 1000) / input.hardware.interconnectBytesPerS;
  return {
    peakFlopsPerGpu,
    estimate(work) {
      let tokens = 0;
      let kvRead = 0;
      let attended = 0;
      for (const item of work) {
        tokens += item.newTokens;
        kvRead += kvTokensRead(item, model.slidingWindow);
        attended += attendedContextSum(item.contextTokens, item.newTokens, model.slidingWindow);
      }
      const memoryS = (input.weightBytesPerGpu + kvRead * input.kvBytesPerTokenPerGpu) / bandwidth;
      const mfu = mfuFor(efficiency, tokens);
      const flops = 2 * model.parameters * tokens + attentionFlopsPerAttended * attended;
      const computeS = flops / tp / (peakFlopsPerGpu * mfu);
      const memoryMs = memoryS * 1000;
      const computeMs = computeS * 1000;
      const commMs = allReduces === 0 ? 0 : commFixedMs + commMsPerToken * tokens;
      const stepMs = Math.max(memoryMs, computeMs) + commMs + efficiency.stepOverheadMs;
      return { memoryMs, computeMs, commMs, mfu, stepMs };
    },
  };
}

/**
 * The "zero" latency profile: every step takes no time, so a generation costs only the event-loop hops between
 * steps. For measuring the gateway itself (overhead benchmarks), never for capacity figures.
 */
export function createZeroLatencyModel(peakFlopsPerGpu: number): LatencyModel {
  return {
    peakFlopsPerGpu,
    estimate: () => ({ memoryMs: 0, computeMs: 0, commMs: 0, mfu: 0, stepMs: 0 }),
  };
}
