import type { SimulatedBackendOptions } from "./types.js";

/**
 * Checks a simulated replica's options once, at construction (undici/p-queue style): every violation is
 * reported together, each naming the field, the rule and the value, so a bad config fails fast and clearly.
 */
export function validateSimulatedOptions(options: SimulatedBackendOptions): void {
  const problems: string[] = [];
  const check = (field: string, value: number, ok: boolean, rule: string) => {
    if (!ok || !Number.isFinite(value)) problems.push(`${field} must be ${rule} (got ${value})`);
  };
  const positiveInt = (field: string, value: number) =>
    check(field, value, Number.isInteger(value) && value >= 1, "an integer >= 1");
  const fraction = (field: string, value: number) =>
    check(field, value, value > 0 && value <= 1, "in (0, 1]");

  const { engine, efficiency, output, faults, model } = options;
  positiveInt("tensorParallel", options.tensorParallel);
  positiveInt("engine.maxNumSeqs", engine.maxNumSeqs);
  positiveInt("engine.maxNumBatchedTokens", engine.maxNumBatchedTokens);
  positiveInt("engine.blockSize", engine.blockSize);
  fraction("engine.gpuMemoryUtilization", engine.gpuMemoryUtilization);
  check(
    "engine.activationReserveBytes",
    engine.activationReserveBytes,
    engine.activationReserveBytes >= 0,
    ">= 0",
  );
  fraction("efficiency.mbu", efficiency.mbu);
  fraction("efficiency.mfuMin", efficiency.mfuMin);
  fraction("efficiency.mfuMax", efficiency.mfuMax);
  check(
    "efficiency.mfuMax",
    efficiency.mfuMax,
    efficiency.mfuMax >= efficiency.mfuMin,
    ">= efficiency.mfuMin",
  );
  check("efficiency.mfuRampTokens", efficiency.mfuRampTokens, efficiency.mfuRampTokens >= 0, ">= 0");
  check("efficiency.stepOverheadMs", efficiency.stepOverheadMs, efficiency.stepOverheadMs >= 0, ">= 0");
  check(
    "efficiency.allReduceLatencyUs",
    efficiency.allReduceLatencyUs,
    efficiency.allReduceLatencyUs >= 0,
    ">= 0",
  );
  check("output.lengthMedian", output.lengthMedian, output.lengthMedian >= 1, ">= 1");
  check("output.lengthSigma", output.lengthSigma, output.lengthSigma >= 0, ">= 0");
  check("faults.errorRate", faults.errorRate, faults.errorRate >= 0 && faults.errorRate <= 1, "in [0, 1]");
  check("faults.latencyMultiplier", faults.latencyMultiplier, faults.latencyMultiplier > 0, "> 0");
  faults.outages.forEach((outage, i) => {
    check(`faults.outages[${i}].startMs`, outage.startMs, outage.startMs >= 0, ">= 0");
    check(`faults.outages[${i}].durationMs`, outage.durationMs, outage.durationMs > 0, "> 0");
  });
  const tp = options.tensorParallel;
  if (Number.isInteger(tp) && tp >= 1) {
    // vLLM shards attention heads: TP must divide the query heads, and KV heads are split or replicated.
    if (model.queryHeads % tp !== 0) {
      problems.push(`tensorParallel must divide ${model.name}'s ${model.queryHeads} query heads (got ${tp})`);
    }
    if (model.kvHeads % tp !== 0 && tp % model.kvHeads !== 0) {
      problems.push(
        `tensorParallel must divide, or be a multiple of, ${model.name}'s ${model.kvHeads} KV heads (got ${tp})`,
      );
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `Invalid simulated backend options for replica ${options.replica.id}: ${problems.join("; ")}`,
    );
  }
}
