import { afterEach, describe, expect, it } from "vitest";
import { createWorkerSolver, type PowSolver } from "../../bench/lib/pow-solver.js";
import { checkNonce } from "../../src/guard/pow.js";

let solver: PowSolver | undefined;
afterEach(async () => {
  await solver?.close();
  solver = undefined;
});

describe("createWorkerSolver", () => {
  it("solves puzzles with the gateway's solve on a worker thread, in order", {
    timeout: 30_000,
  }, async () => {
    solver = createWorkerSolver();
    const [a, b] = await Promise.all([solver.solve("seed-a", 8), solver.solve("seed-b", 10)]);
    expect(checkNonce("seed-a", a.nonce, 8)).toBe(true);
    expect(checkNonce("seed-b", b.nonce, 10)).toBe(true);
    expect(a.computeMs).toBeGreaterThanOrEqual(0);
  });

  it("rejects what is still queued when closed, and everything after", { timeout: 30_000 }, async () => {
    solver = createWorkerSolver();
    const pending = solver.solve("seed", 30);
    await solver.close();
    await expect(pending).rejects.toThrow(/exited/);
    await expect(solver.solve("seed", 1)).rejects.toThrow(/exited/);
  });
});
