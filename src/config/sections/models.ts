import { z } from "zod";
import { modelCacheSchema } from "./cache.js";
import { modelIdPattern, positiveInt } from "./fields.js";
import { routingSchema } from "./routing.js";
import { checkModelScheduling, modelSchedulingSchema } from "./scheduling.js";

const share = z.number().gt(0).max(1);

export const modelSchema = z
  .object({
    id: z
      .string()
      .regex(modelIdPattern, "use 1-128 letters, digits or . _ : / -")
      .describe("The id clients send as `model`."),
    profile: z.string().min(1).describe("Key in the model catalog (built-in or catalog.models)."),
    contextLength: positiveInt.optional().meta({
      description: "The context window served (vLLM's max_model_len); overrides the catalog's.",
      whenUnset: "the profile's",
    }),
    ownedBy: z.string().default("tollgate").describe("`owned_by` in /v1/models."),
    aliases: z
      .array(z.string().regex(modelIdPattern))
      .default([])
      .describe("Other names clients may use for this model (resolved before anything else)."),
    fallbacks: z
      .array(z.string())
      .default([])
      .describe(
        "Models to try, in order, when this model's pool cannot serve (every replica failed or unavailable).",
      ),
    canary: z
      .array(
        z
          .object({
            model: z.string().describe("The model (a new version) that gets the share."),
            share: share.describe("Fraction of all this model's requests sent there instead."),
          })
          .strict(),
      )
      .default([])
      .refine((c) => c.reduce((sum, x) => sum + x.share, 0) <= 1, {
        message: "canary shares add up to more than 1",
      })
      .describe(
        "Canary: a share of this model's traffic goes to another model (a new version); the rest stays here. " +
          "Shares are fractions of all requests and add up to at most 1.",
      ),
    shadow: z
      .object({
        model: z.string().describe("The model that gets the copies."),
        share: share.describe("Fraction of this model's requests copied there."),
      })
      .strict()
      .optional()
      .describe(
        "Shadow: a share of requests is also sent to another model in the background; its answers are " +
          "discarded but measured (tollgate_shadow_*), and it never delays or fails the client's request.",
      ),
    routing: routingSchema.prefault({}),
    pricing: z
      .object({
        inputPerMillionUsd: z.number().nonnegative().describe("List price of a million prompt tokens."),
        outputPerMillionUsd: z.number().nonnegative().describe("List price of a million completion tokens."),
      })
      .strict()
      .optional()
      .meta({
        description:
          'List prices per million tokens, for revenue and margin (README: "Cost, revenue and logs").',
        whenUnset: "revenue 0",
      }),
    cache: modelCacheSchema.prefault({}),
    scheduling: modelSchedulingSchema.prefault({}),
  })
  .strict();

export const modelsSchema = z.array(modelSchema).min(1, "declare at least one model").meta({
  title: "Models",
  description: "The models clients can ask for, each served by one or more deployments.",
});

export type ModelConfig = z.infer<typeof modelSchema>;

/** Unique ids and known catalog profiles (`profiles`: built-in and configured keys, in message order). */
export function checkModelIds(models: readonly ModelConfig[], profiles: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  models.forEach((model, i) => {
    if (ids.has(model.id)) problems.push(`models.${i}.id: duplicate model id "${model.id}"`);
    ids.add(model.id);
    if (!profiles.has(model.profile)) {
      problems.push(
        `models.${i}.profile: unknown model profile "${model.profile}" (known: ${[...profiles].join(", ")})`,
      );
    }
  });
  return problems;
}

/**
 * References from each model to others and to the SLO classes: every model served by some deployment, aliases
 * that clash with no id or alias, canary, shadow, degradation and fallback targets that exist and are not the
 * model itself.
 */
export function checkModelReferences(
  models: readonly ModelConfig[],
  known: { served: ReadonlySet<string>; classes: Readonly<Record<string, unknown>> },
): string[] {
  const problems: string[] = [];
  const modelIds = new Set(models.map((m) => m.id));
  const names = new Map<string, string>(models.map((m) => [m.id, `model "${m.id}"`]));
  models.forEach((model, i) => {
    if (!known.served.has(model.id)) problems.push(`models.${i}: no deployment serves model "${model.id}"`);
    model.aliases.forEach((alias, j) => {
      const taken = names.get(alias);
      if (taken !== undefined) problems.push(`models.${i}.aliases.${j}: "${alias}" is already ${taken}`);
      names.set(alias, `an alias of "${model.id}"`);
    });
    model.canary.forEach((target, j) => {
      if (target.model === model.id)
        problems.push(`models.${i}.canary.${j}.model: a model cannot be its own canary`);
      else if (!modelIds.has(target.model))
        problems.push(`models.${i}.canary.${j}.model: no model with id "${target.model}"`);
    });
    if (model.shadow !== undefined) {
      if (model.shadow.model === model.id)
        problems.push(`models.${i}.shadow.model: a model cannot shadow itself`);
      else if (!modelIds.has(model.shadow.model)) {
        problems.push(`models.${i}.shadow.model: no model with id "${model.shadow.model}"`);
      }
    }
    problems.push(
      ...checkModelScheduling(model.scheduling, {
        at: `models.${i}`,
        modelId: model.id,
        modelIds,
        classes: known.classes,
      }),
    );
    model.fallbacks.forEach((fallback, j) => {
      if (fallback === model.id)
        problems.push(`models.${i}.fallbacks.${j}: a model cannot fall back to itself`);
      else if (!modelIds.has(fallback))
        problems.push(`models.${i}.fallbacks.${j}: no model with id "${fallback}"`);
    });
  });
  return problems;
}
