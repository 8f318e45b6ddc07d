import { z } from "zod";
import { ENV_REFERENCE, positiveInt } from "./fields.js";

export const openAiHttpBackendSchema = z
  .object({
    type: z.literal("openai-http").describe("A real OpenAI-compatible server over HTTP."),
    url: z
      .url({ protocol: /^https?$/ })
      .describe(
        "Base URL of an OpenAI-compatible server (vLLM, Ollama, OpenAI, another Tollgate); `/v1` is appended.",
      ),
    apiKey: z
      .string()
      .optional()
      .describe(
        `Sent upstream as \`Authorization: Bearer\`; ${ENV_REFERENCE} is read from the environment at start-up.`,
      ),
    headers: z.record(z.string(), z.string()).default({}).describe("Extra headers sent upstream."),
    upstreamModel: z
      .string()
      .optional()
      .meta({ description: "Model name sent upstream.", whenUnset: "the Tollgate model id" }),
    connections: positiveInt
      .max(4096)
      .default(64)
      .describe("Keep-alive connections per replica (undici Pool)."),
    gpu: z
      .string()
      .default("external")
      .describe("Accelerator type, when known (for reports); `external` otherwise."),
    pricePerGpuHourUsd: z
      .number()
      .nonnegative()
      .default(0)
      .describe("What one replica costs per hour, for cost per response (0 when unknown)."),
  })
  .strict()
  .meta({
    title: "OpenAI-compatible HTTP backend",
    description:
      'Replicas that are real OpenAI-compatible servers, reached over keep-alive connections (README: "Real upstreams").',
  });

export type OpenAiHttpBackendConfig = z.infer<typeof openAiHttpBackendSchema>;
