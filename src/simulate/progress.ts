/** Where a run stands, as the runner reports it to `onProgress`. */
export interface SimulationProgress {
  simulatedS: number;
  /** The workload's duration; undefined for a replayed trace (its length is not known in advance). */
  totalS: number | undefined;
  requests: number;
  completed: number;
}

/** At most ten redraws a second: enough to look live, cheap next to the simulation. */
const MIN_INTERVAL_MS = 100;
const BAR_WIDTH = 30;

/**
 * A one-line progress bar on `stream` (stderr): drawn only when it is a TTY, redrawn at most every 100 ms of
 * wall time (`now`, performance.now by default), cleared by `done()`.
 */
export function progressBar(options: {
  stream: NodeJS.WriteStream | { isTTY?: boolean; write(text: string): unknown };
  now?: () => number;
}): { update(progress: SimulationProgress): void; done(): void } {
  const { stream } = options;
  const now = options.now ?? (() => performance.now());
  const enabled = stream.isTTY === true;
  let lastDrawMs = Number.NEGATIVE_INFINITY;
  let drawn = false;
  return {
    update(progress) {
      if (!enabled) return;
      const t = now();
      if (t - lastDrawMs < MIN_INTERVAL_MS) return;
      lastDrawMs = t;
      drawn = true;
      stream.write(`\r\x1b[2K${progressLine(progress)}`);
    },
    done() {
      if (enabled && drawn) stream.write("\r\x1b[2K");
    },
  };
}

/** `[#####.....] 12.0/60.0 s simulated, 2400 requests, 2310 done`; a bar only when the total is known. */
export function progressLine(p: SimulationProgress): string {
  const counts = `${p.requests} requests, ${p.completed} done`;
  if (p.totalS === undefined || !(p.totalS > 0)) return `${p.simulatedS.toFixed(1)} s simulated, ${counts}`;
  const share = Math.min(1, p.simulatedS / p.totalS);
  const filled = Math.round(share * BAR_WIDTH);
  const bar = `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}]`;
  return `${bar} ${p.simulatedS.toFixed(1)}/${p.totalS.toFixed(1)} s simulated, ${counts}`;
}
