import type { Backend } from "../backends/backend.js";
import type { Clock, TimerHandle } from "../core/clock.js";

export interface HealthCheckSettings {
  /** Time between probes of one replica. */
  intervalMs: number;
  /** A probe that has not answered by then counts as failed. */
  timeoutMs: number;
  /** Consecutive failed probes that take a replica out of rotation. */
  unhealthyThreshold: number;
  /** Consecutive good probes that bring it back. */
  healthyThreshold: number;
}

/** Active health of one replica: flips only after thresholds of consecutive results, so one blip is ignored. */
export class ActiveHealth {
  #healthy = true;
  #failures = 0;
  #successes = 0;
  readonly #settings: HealthCheckSettings;

  constructor(settings: HealthCheckSettings) {
    this.#settings = settings;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  record(ok: boolean): void {
    if (ok) {
      this.#failures = 0;
      this.#successes++;
      if (!this.#healthy && this.#successes >= this.#settings.healthyThreshold) this.#healthy = true;
    } else {
      this.#successes = 0;
      this.#failures++;
      if (this.#healthy && this.#failures >= this.#settings.unhealthyThreshold) this.#healthy = false;
    }
  }
}

/**
 * Probes every backend that has a `probe` (HTTP upstreams) every `intervalMs` on the injected clock, one probe
 * in flight per replica, and records the results. Backends without one (simulated engines report readiness
 * themselves) are not probed. Returns a function that stops all probing.
 */
export function startHealthChecks(options: {
  targets: ReadonlyArray<{ backend: Backend; health: ActiveHealth }>;
  clock: Clock;
  settings: HealthCheckSettings;
}): () => void {
  const { clock, settings } = options;
  const timers = new Map<ActiveHealth, TimerHandle>();
  const inFlight = new Set<AbortController>();
  let stopped = false;
  const schedule = (backend: Backend, health: ActiveHealth) => {
    timers.set(
      health,
      clock.setTimer(settings.intervalMs, () => void probeOnce(backend, health)),
    );
  };
  const probeOnce = async (backend: Backend, health: ActiveHealth) => {
    const controller = new AbortController();
    inFlight.add(controller);
    const timeout = clock.setTimer(settings.timeoutMs, () =>
      controller.abort(new Error("health check timed out")),
    );
    let ok = false;
    try {
      await backend.probe?.(controller.signal);
      ok = !controller.signal.aborted;
    } catch {
      ok = false;
    } finally {
      clock.clearTimer(timeout);
      inFlight.delete(controller);
    }
    if (stopped) return;
    health.record(ok);
    schedule(backend, health);
  };
  for (const { backend, health } of options.targets) {
    if (backend.probe !== undefined) schedule(backend, health);
  }
  return () => {
    stopped = true;
    for (const timer of timers.values()) clock.clearTimer(timer);
    for (const controller of inFlight) controller.abort(new Error("health checks stopped"));
  };
}
