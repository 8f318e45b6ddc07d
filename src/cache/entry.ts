import { z } from "zod";
import type { FinishReason, Usage } from "../core/types.js";

/**
 * A stored generation: enough to replay it as the same stream (text deltas in order, with their recorded
 * spacing) or as the same JSON, with the original usage and what it cost to compute. Encoded as JSON; decoded
 * through a schema, so a corrupt or foreign value is a miss, never a crash.
 */
export interface CachedGeneration {
  v: 1;
  /** Epoch milliseconds the generation finished (for the Age header). */
  createdEpochMs: number;
  model: string;
  deployment: string;
  replicaId: string;
  finishReason: FinishReason;
  usage: Usage;
  gpuSeconds: number;
  costUsd: number;
  /** Arrival to first token of the original generation. */
  ttftMs: number;
  /** Text of each token event, in order. */
  texts: string[];
  /** Tokens of each event, when any event stood for other than one token. */
  tokens?: number[];
  /** Each event's time after the first token, in milliseconds (for paced replay). */
  offsetsMs: number[];
}

const usageSchema = z.object({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  cachedPromptTokens: z.number().int().nonnegative(),
});

const entrySchema = z
  .object({
    v: z.literal(1),
    createdEpochMs: z.number(),
    model: z.string(),
    deployment: z.string(),
    replicaId: z.string(),
    finishReason: z.enum(["stop", "length"]),
    usage: usageSchema,
    gpuSeconds: z.number().nonnegative(),
    costUsd: z.number().nonnegative(),
    ttftMs: z.number().nonnegative(),
    texts: z.array(z.string()),
    tokens: z.array(z.number().int().nonnegative()).optional(),
    offsetsMs: z.array(z.number().nonnegative()),
  })
  .refine(
    (e) => e.offsetsMs.length === e.texts.length && (e.tokens?.length ?? e.texts.length) === e.texts.length,
    {
      message: "event arrays differ in length",
    },
  );

export function encodeEntry(entry: CachedGeneration): Buffer {
  return Buffer.from(JSON.stringify(entry));
}

/** The entry, or undefined when the bytes are not a valid entry of this version. */
export function decodeEntry(bytes: Buffer): CachedGeneration | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
  const parsed = entrySchema.safeParse(raw);
  return parsed.success ? (parsed.data as CachedGeneration) : undefined;
}

/** Tokens the i-th event stands for. */
export function eventTokens(entry: CachedGeneration, i: number): number {
  return entry.tokens?.[i] ?? 1;
}
