import { SystemClock } from "../../src/core/clock.js";
import { contractRequests, runBackendContract } from "./contract.js";
import { CONTRACT_MODEL, contractSimulatedBackend } from "./contract-subjects.js";

runBackendContract("simulated (Qwen2.5-0.5B on H100-SXM-80GB, system clock)", async () => {
  const clock = new SystemClock();
  const backend = contractSimulatedBackend(clock);
  return {
    backend,
    makeRequest: contractRequests({ model: CONTRACT_MODEL, clock }),
    teardown: () => backend.close(),
  };
});
