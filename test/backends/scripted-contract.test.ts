import { SystemClock } from "../../src/core/clock.js";
import { ScriptedBackend } from "../helpers/scripted-backend.js";
import { contractRequests, runBackendContract } from "./contract.js";

/**
 * The test double the HTTP, routing, cache and scheduling tests stand on plays by the same rules as the real
 * backends, so what those tests show holds for them. Its script: more words than the contract's requests
 * ask for, a token every millisecond on the system clock.
 */
const WORDS = Array.from({ length: 96 }, (_, i) => `word${i}`);

runBackendContract("scripted test double, system clock", async () => {
  const clock = new SystemClock();
  const backend = new ScriptedBackend({
    clock,
    model: "scripted-model",
    script: { words: WORDS, ttftMs: 2, itlMs: 1 },
  });
  return {
    backend,
    makeRequest: contractRequests({ model: "scripted-model", clock }),
    teardown: () => backend.close(),
  };
});
