import { Registry } from "prom-client";
import { SystemClock } from "../../src/core/clock.js";
import { createVllmMetrics } from "../../src/metrics/vllm-metrics.js";
import { observeGenerations } from "../../src/replica-server/observed-backend.js";
import { contractRequests, runBackendContract } from "../backends/contract.js";
import { CONTRACT_MODEL, contractSimulatedBackend } from "../backends/contract-subjects.js";

/**
 * The backend server's observing wrapper (every generation reported to vLLM's metrics) around the simulated
 * engine: observing must change nothing a caller of the Backend sees. The observer is the real one, on a
 * registry of its own, so the contract's aborts, failures and chat requests also run through vLLM's metrics.
 */
runBackendContract("observed (vLLM metrics) around simulated, system clock", async () => {
  const clock = new SystemClock();
  const inner = contractSimulatedBackend(clock, "observed-contract");
  const vllm = createVllmMetrics({
    registry: new Registry(),
    engines: () => [],
    maxModelLen: 32_768,
    modelNames: [CONTRACT_MODEL],
  });
  const backend = observeGenerations(inner, vllm);
  return {
    backend,
    makeRequest: contractRequests({ model: CONTRACT_MODEL, clock }),
    teardown: () => backend.close(),
  };
});
