import { z } from "zod";
import { adminSchema } from "./sections/admin.js";
import { cacheSchema } from "./sections/cache.js";
import { catalogSchema } from "./sections/catalog.js";
import { defaultsSchema, efficiencySchema, outputSchema } from "./sections/defaults.js";
import { deploymentsSchema } from "./sections/deployments.js";
import { guardSchema } from "./sections/guard.js";
import { logSchema } from "./sections/log.js";
import { modelsSchema } from "./sections/models.js";
import { schedulingSchema } from "./sections/scheduling.js";
import { serverSchema } from "./sections/server.js";
import { storeSchema } from "./sections/store.js";

/**
 * The whole configuration as one zod schema, composed of one schema per section (./sections/). Types come from
 * z.infer; every default lives in the sections, so the YAML files only say what differs. Parsed once at
 * start-up (see load.ts), every bad field reported at once, then frozen. docs/configuration.md is generated
 * from the sections' descriptions (`npm run docs:config`).
 */
export const configSchema = z
  .object({
    server: serverSchema.prefault({}),
    admin: adminSchema.prefault({}),
    store: storeSchema.prefault({}),
    guard: guardSchema.prefault({}),
    scheduling: schedulingSchema.prefault({}),
    cache: cacheSchema.prefault({}),
    log: logSchema.default({ level: "info", prompts: false }),
    seed: z
      .number()
      .int()
      .default(42)
      .describe(
        "Seed for every stochastic choice of the simulated backends: output lengths, generated text, faults.",
      ),
    tokenizer: z
      .enum(["cl100k_base"])
      .default("cl100k_base")
      .describe("The tokenizer that counts prompt and completion tokens."),
    catalog: catalogSchema.default({ hardware: {}, models: {} }),
    defaults: defaultsSchema.default({
      engine: {},
      efficiency: efficiencySchema.parse({}),
      output: outputSchema.parse({}),
    }),
    models: modelsSchema,
    deployments: deploymentsSchema,
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.infer<typeof configSchema>;

// The sections' schemas and types, re-exported so the rest of the code imports the config from one place.
export { type AdminConfig, adminSchema } from "./sections/admin.js";
export { type OpenAiHttpBackendConfig, openAiHttpBackendSchema } from "./sections/backend-openai-http.js";
export {
  faultsSchema,
  type SimulatedBackendConfig,
  simulatedBackendSchema,
} from "./sections/backend-simulated.js";
export { type CacheConfig, cacheSchema, type ModelCacheConfig, modelCacheSchema } from "./sections/cache.js";
export { catalogSchema, type HardwareEntry, type ModelEntry } from "./sections/catalog.js";
export { defaultsSchema, efficiencySchema, engineSchema, outputSchema } from "./sections/defaults.js";
export { backendSchema, type DeploymentConfig, deploymentSchema } from "./sections/deployments.js";
export { type GuardConfig, guardSchema, type LimitsConfig, limitsSchema } from "./sections/guard.js";
export { logSchema } from "./sections/log.js";
export { type ModelConfig, modelSchema } from "./sections/models.js";
export { type PolicyName, type RoutingConfig, routingSchema } from "./sections/routing.js";
export {
  type ModelSchedulingConfig,
  modelSchedulingSchema,
  type SchedulingConfig,
  type SloClassConfig,
  schedulingSchema,
  sloClassSchema,
} from "./sections/scheduling.js";
export { type ServerConfig, serverSchema } from "./sections/server.js";
export { type StoreConfig, storeSchema } from "./sections/store.js";
