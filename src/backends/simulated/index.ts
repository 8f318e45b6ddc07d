export { CompletionWriter, StopMatcher } from "./completion.js";
export {
  DEFAULT_EFFICIENCY_SETTINGS,
  DEFAULT_OUTPUT_SETTINGS,
  defaultEngineSettings,
  NO_FAULTS,
} from "./defaults.js";
export { type MemoryPlan, planMemory } from "./memory.js";
export type { LatencyModel, SequenceWork, StepEstimate } from "./roofline.js";
export { attendedContextSum, createLatencyModel, mfuFor, peakFlopsFor } from "./roofline.js";
export { createSimulatedBackend, SimulatedBackend, type SimulatedCapacity } from "./simulated-backend.js";
export type {
  EfficiencySettings,
  EngineCapacity,
  EngineSettings,
  EngineStats,
  FaultSettings,
  OutageWindow,
  OutputSettings,
  SimulatedBackendOptions,
} from "./types.js";
