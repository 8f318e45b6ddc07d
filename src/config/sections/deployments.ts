import { z } from "zod";
import { openAiHttpBackendSchema } from "./backend-openai-http.js";
import { simulatedBackendSchema } from "./backend-simulated.js";
import { namePattern, positiveInt } from "./fields.js";

export const backendSchema = z
  .discriminatedUnion("type", [simulatedBackendSchema, openAiHttpBackendSchema])
  .describe("What serves the deployment's replicas, chosen by `type`.");

export const deploymentSchema = z
  .object({
    name: z
      .string()
      .regex(namePattern, "use 1-64 letters, digits, dot, dash or underscore")
      .describe("Unique deployment (pool) name; a label value in metrics."),
    model: z.string().min(1).describe("Model id (from `models`) this deployment serves."),
    provider: z
      .string()
      .min(1)
      .default("simulated")
      .describe("Where it runs (descriptive, for routing and reports)."),
    region: z
      .string()
      .min(1)
      .default("local")
      .describe("Region it runs in (descriptive, for routing and reports)."),
    replicas: positiveInt.max(1024).default(1).describe("Identical replicas in the pool."),
    weight: z
      .number()
      .positive()
      .default(1)
      .describe("Relative share of traffic for weighted routing policies (weighted-random)."),
    backend: backendSchema,
  })
  .strict();

export type DeploymentConfig = z.infer<typeof deploymentSchema>;

/**
 * Unique names, a served model that exists, known hardware. `modelIds` are the declared model ids, `hardware`
 * the built-in and configured hardware catalog keys, in the order they are listed in messages.
 */
export function checkDeployments(
  deployments: readonly DeploymentConfig[],
  known: { modelIds: ReadonlySet<string>; hardware: ReadonlySet<string> },
): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  deployments.forEach((deployment, i) => {
    if (names.has(deployment.name)) {
      problems.push(`deployments.${i}.name: duplicate deployment name "${deployment.name}"`);
    }
    names.add(deployment.name);
    if (!known.modelIds.has(deployment.model)) {
      problems.push(`deployments.${i}.model: no model with id "${deployment.model}" in models`);
    }
    if (deployment.backend.type === "simulated" && !known.hardware.has(deployment.backend.hardware)) {
      problems.push(
        `deployments.${i}.backend.hardware: unknown hardware "${deployment.backend.hardware}" (known: ${[...known.hardware].join(", ")})`,
      );
    }
  });
  return problems;
}

export const deploymentsSchema = z
  .array(deploymentSchema)
  .min(1, "declare at least one deployment")
  .meta({
    title: "Deployments",
    description:
      "Pools of identical replicas, each serving one model; a model's pool is every replica of every " +
      "deployment that serves it, possibly on different providers, regions and GPU types.",
  });
