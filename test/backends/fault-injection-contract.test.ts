import { FaultInjectingBackend, type RuntimeFault } from "../../src/backends/fault-injection.js";
import { SystemClock } from "../../src/core/clock.js";
import { SeededRandom } from "../../src/core/random.js";
import { contractRequests, runBackendContract } from "./contract.js";
import { CONTRACT_MODEL, contractSimulatedBackend } from "./contract-subjects.js";

/**
 * The fault-injection wrapper sits around every production replica, so it passes the whole contract whenever
 * it still serves: with no fault, with a slow link (events later, same content), and with errors at rate 0.
 * The modes that stop serving (outage, errors, hang) break the contract on purpose; what they promise instead
 * is in fault-injection-modes.test.ts.
 */
const SERVING: { label: string; fault: RuntimeFault }[] = [
  { label: "none", fault: { mode: "none" } },
  { label: "slow x2", fault: { mode: "slow", factor: 2 } },
  { label: "errors at rate 0", fault: { mode: "errors", rate: 0 } },
];

for (const { label, fault } of SERVING) {
  runBackendContract(`fault-injection (${label}) around simulated, system clock`, async () => {
    const clock = new SystemClock();
    const inner = contractSimulatedBackend(clock, "fault-contract");
    const backend = new FaultInjectingBackend(inner, { clock, random: new SeededRandom(7) });
    backend.setFault(fault);
    return {
      backend,
      makeRequest: contractRequests({ model: CONTRACT_MODEL, clock }),
      teardown: () => backend.close(),
    };
  });
}
