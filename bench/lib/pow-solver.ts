import { Worker } from "node:worker_threads";

/** A solved puzzle: the nonce and the time spent hashing (not waiting for the solver). */
export interface Solution {
  nonce: string;
  computeMs: number;
}

/** Finds a nonce such that SHA-256(seed + nonce) has `difficulty` leading zero bits (src/guard/pow.ts). */
export type SolveFn = (seed: string, difficulty: number) => Promise<Solution>;

export interface PowSolver {
  solve: SolveFn;
  /** Stops the worker; puzzles still queued reject. */
  close(): Promise<void>;
}

interface Reply {
  id: number;
  nonce?: string;
  computeMs?: number;
  error?: string;
}

/**
 * Solves puzzles with the gateway's `solve` on one worker thread, in arrival order. Off the event loop because
 * a puzzle at the guard's maximum difficulty (22 bits, ~4M hashes) takes seconds of one core, which would stall
 * the load generator's timers and every latency it measures. One thread: on this 2-core machine the gateway
 * has the other core, so the flood's solving rate is one core's (a real botnet solves on many machines).
 */
export function createWorkerSolver(): PowSolver {
  const worker = new Worker(new URL("./pow-worker.mjs", import.meta.url));
  const pending = new Map<number, { resolve: (s: Solution) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure ??= error;
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  worker.on("message", (reply: Reply) => {
    const waiter = pending.get(reply.id);
    if (waiter === undefined) return;
    pending.delete(reply.id);
    if (reply.nonce === undefined) waiter.reject(new Error(reply.error ?? "the solver answered nothing"));
    else waiter.resolve({ nonce: reply.nonce, computeMs: reply.computeMs ?? 0 });
  });
  worker.on("error", failAll);
  worker.on("exit", () => failAll(new Error("the solver worker exited")));
  return {
    solve: (seed, difficulty) =>
      new Promise((resolve, reject) => {
        if (failure !== undefined) {
          reject(failure);
          return;
        }
        const id = nextId++;
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, seed, difficulty });
      }),
    close: async () => {
      await worker.terminate();
    },
  };
}
