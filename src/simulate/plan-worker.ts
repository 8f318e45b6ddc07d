import { parentPort, workerData } from "node:worker_threads";
import { searchOption } from "./option-search.js";
import type { PlanOption } from "./plan-options.js";
import type { WorkerInput, WorkerMessage } from "./plan-pool.js";

/**
 * A plan worker thread (plan-pool.ts): searches the options it is sent, one at a time, with the real
 * simulator, and posts each outcome (and a progress message per simulation) back.
 */
const port = parentPort;
if (port === null) throw new Error("plan-worker runs as a worker thread");
const input = workerData as WorkerInput;
const post = (message: WorkerMessage) => port.postMessage(message);

port.on("message", (task: { index: number; option: PlanOption }) => {
  searchOption(task.option, {
    ...input,
    onEvaluated: (option, replicas, meets) => post({ type: "progress", option, replicas, meets }),
  }).then(
    (outcome) => post({ type: "done", index: task.index, outcome }),
    (error: unknown) =>
      post({
        type: "error",
        index: task.index,
        message: error instanceof Error ? error.message : String(error),
      }),
  );
});
