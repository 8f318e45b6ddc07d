/** A bench scenario: starts what it needs on loopback ephemeral ports, drives load, stops everything. */
export interface ScenarioContext {
  /** CI-sized run (well under 20 s); full runs are for humans. */
  quick: boolean;
  /**
   * `--solve-challenges`: the load clients act as legitimate clients that answer the guard's proof-of-work
   * challenges (bench/lib/challenge-solver.ts) instead of counting the 403s; default false. Only scenarios
   * whose gateway runs the guard are affected (bot-flood); the others turn the guard off.
   */
  solveChallenges?: boolean;
  log(message: string): void;
}

export interface ScenarioOutput {
  /** What was run: configs, rates, durations, workload parameters. */
  config: Record<string, unknown>;
  /** Named result blocks (each a record of named runs). */
  results: Record<string, unknown>;
  /** Findings in words: goals met or missed, with the measured ratios. */
  notes: string[];
}

export interface Scenario {
  name: string;
  description: string;
  run(context: ScenarioContext): Promise<ScenarioOutput>;
}
