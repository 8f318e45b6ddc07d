/**
 * Model profiles: the architecture numbers the roofline model and the KV-cache sizing need. Figures come from
 * each model's config.json on its Hugging Face model card (num_hidden_layers, num_attention_heads,
 * num_key_value_heads, head_dim = hidden_size / num_attention_heads, max_position_embeddings) and the
 * parameter counts from the model cards.
 */
export interface ModelProfile {
  name: string;
  parameters: number;
  layers: number;
  queryHeads: number;
  /** Key/value heads (fewer than query heads under grouped-query attention). */
  kvHeads: number;
  headDim: number;
  /** Maximum context (prompt + completion) in tokens. */
  contextLength: number;
  /** Sliding-window attention span in tokens, when the model uses it (caps the attended context). */
  slidingWindow?: number;
  source: string;
}

/** Weight precision: fp8 is W8A8 (fp8 tensor cores when the GPU has them); int4 is weight-only (bf16 math). */
export type Precision = "bf16" | "fp8" | "int4";
export type KvCacheDtype = "bf16" | "fp8";

const WEIGHT_BYTES: Readonly<Record<Precision, number>> = { bf16: 2, fp8: 1, int4: 0.5 };
const KV_ELEMENT_BYTES: Readonly<Record<KvCacheDtype, number>> = { bf16: 2, fp8: 1 };

export const MODEL_CATALOG: Readonly<Record<string, ModelProfile>> = Object.freeze({
  "Llama-3.1-8B": {
    name: "Llama-3.1-8B",
    parameters: 8.03e9,
    layers: 32,
    queryHeads: 32,
    kvHeads: 8,
    headDim: 128,
    contextLength: 131_072,
    source: "meta-llama/Llama-3.1-8B model card and config.json",
  },
  "Llama-3.1-70B": {
    name: "Llama-3.1-70B",
    parameters: 70.6e9,
    layers: 80,
    queryHeads: 64,
    kvHeads: 8,
    headDim: 128,
    contextLength: 131_072,
    source: "meta-llama/Llama-3.1-70B model card and config.json",
  },
  "Mistral-7B-v0.1": {
    name: "Mistral-7B-v0.1",
    parameters: 7.24e9,
    layers: 32,
    queryHeads: 32,
    kvHeads: 8,
    headDim: 128,
    contextLength: 32_768,
    slidingWindow: 4096,
    source: "mistralai/Mistral-7B-v0.1 model card and config.json (sliding_window 4096)",
  },
  "Llama-2-7B": {
    name: "Llama-2-7B",
    parameters: 6.74e9,
    layers: 32,
    queryHeads: 32,
    kvHeads: 32,
    headDim: 128,
    contextLength: 4096,
    source: "meta-llama/Llama-2-7b-hf model card and config.json (multi-head attention, no GQA)",
  },
  "Llama-2-70B": {
    name: "Llama-2-70B",
    parameters: 68.98e9,
    layers: 80,
    queryHeads: 64,
    kvHeads: 8,
    headDim: 128,
    contextLength: 4096,
    source: "meta-llama/Llama-2-70b-hf model card and config.json (grouped-query attention, 8 KV heads)",
  },
  "Qwen2.5-0.5B": {
    name: "Qwen2.5-0.5B",
    parameters: 0.494e9,
    layers: 24,
    queryHeads: 14,
    kvHeads: 2,
    headDim: 64,
    contextLength: 32_768,
    source: "Qwen/Qwen2.5-0.5B config.json on the model card (hidden_size 896 / 14 heads = 64)",
  },
});

/** Bytes of the model's weights at a precision (parameters x 2 / 1 / 0.5). */
export function weightBytes(model: ModelProfile, precision: Precision): number {
  return model.parameters * WEIGHT_BYTES[precision];
}

/** KV-cache bytes one token occupies across the whole model: 2 (K and V) x layers x KV heads x head dim x bytes. */
export function kvBytesPerToken(model: ModelProfile, kvDtype: KvCacheDtype): number {
  return 2 * model.layers * model.kvHeads * model.headDim * KV_ELEMENT_BYTES[kvDtype];
}
