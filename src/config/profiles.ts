import { HARDWARE_CATALOG, type HardwareProfile } from "./catalog/hardware.js";
import { MODEL_CATALOG, type ModelProfile } from "./catalog/models.js";
import type { Config } from "./schema.js";

/** The built-in catalogs with the config's `catalog` entries added (a config entry replaces a built-in one). */
export function hardwareProfile(config: Config, name: string): HardwareProfile {
  const custom = config.catalog.hardware[name];
  const profile = custom ? { name, ...custom } : HARDWARE_CATALOG[name];
  if (profile === undefined) throw new Error(`unknown hardware "${name}"`);
  return profile;
}

export function modelProfile(config: Config, name: string): ModelProfile {
  const custom = config.catalog.models[name];
  const profile = custom ? { name, ...custom } : MODEL_CATALOG[name];
  if (profile === undefined) throw new Error(`unknown model profile "${name}"`);
  return profile;
}

/** The context length a model is served with: the config's override, else the profile's. */
export function servedContextLength(config: Config, modelId: string): number {
  const model = config.models.find((m) => m.id === modelId);
  if (model === undefined) throw new Error(`unknown model "${modelId}"`);
  return model.contextLength ?? modelProfile(config, model.profile).contextLength;
}
