import { Worker } from "node:worker_threads";
import type { PlanOption } from "./plan-options.js";
import type { OptionOutcome, PlanInput } from "./plan-types.js";

/** What the main thread sends a plan worker: the search's input without its callbacks (per union member). */
export type WorkerInput = PlanInput extends infer T
  ? T extends unknown
    ? Omit<T, "simulate" | "onEvaluated">
    : never
  : never;

/** Messages from a plan worker (plan-worker.ts). */
export type WorkerMessage =
  | { type: "progress"; option: PlanOption; replicas: number; meets: boolean }
  | { type: "done"; index: number; outcome: OptionOutcome }
  | { type: "error"; index: number; message: string };

/**
 * Searches `options` in `jobs` worker threads (plan-worker.js, next to this module in the build), each taking
 * the next option when it finishes one. Outcomes come back in the order of `options`, whatever order the
 * workers finish in; progress is relayed to `input.onEvaluated` as it happens.
 */
export async function searchInWorkers(input: {
  options: readonly PlanOption[];
  input: PlanInput;
  jobs: number;
}): Promise<OptionOutcome[]> {
  const { options, jobs } = input;
  const { simulate: _simulate, onEvaluated, ...workerInput } = input.input;
  const outcomes = new Array<OptionOutcome>(options.length);
  let next = 0;
  const workers = Array.from(
    { length: jobs },
    () =>
      new Worker(new URL("./plan-worker.js", import.meta.url), {
        workerData: workerInput satisfies WorkerInput,
      }),
  );
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const feed = () => {
              if (next >= options.length) {
                resolve();
                return;
              }
              const index = next++;
              worker.postMessage({ index, option: options[index] });
            };
            worker.on("message", (message: WorkerMessage) => {
              if (message.type === "progress") {
                onEvaluated?.(message.option, message.replicas, message.meets);
              } else if (message.type === "done") {
                outcomes[message.index] = message.outcome;
                feed();
              } else {
                reject(new Error(`plan worker failed on option ${message.index}: ${message.message}`));
              }
            });
            worker.once("error", reject);
            worker.once("exit", (code) => {
              if (next < options.length || code !== 0)
                reject(new Error(`plan worker exited (code ${code}) before the search ended`));
            });
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  return outcomes;
}
