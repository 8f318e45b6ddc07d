import type { Backend } from "../backends/backend.js";
import type { Clock } from "../core/clock.js";
import type { Random } from "../core/random.js";
import { RateWindow } from "../core/rate-window.js";
import { type BreakerSettings, CircuitBreaker } from "./circuit-breaker.js";
import { Ewma } from "./ewma.js";
import { ActiveHealth, type HealthCheckSettings } from "./health-check.js";
import type { ReplicaView, RouteRequest, RoutingPolicy } from "./types.js";

/** One replica of a pool with what the gateway learns about it from its own traffic. */
export interface PoolMember {
  readonly backend: Backend;
  readonly weight: number;
  /** Requests this gateway has in flight on the replica. */
  outstanding: number;
  /** Observed dispatch-to-first-token and time per output token, smoothed over time. */
  readonly ttft: Ewma;
  readonly tpot: Ewma;
  /** Passive health: opens on consecutive failures or a high error rate, probes after a cool-down. */
  readonly breaker: CircuitBreaker;
  /** Generation tokens per second over the last 10 s, for the per-replica throughput gauge. */
  readonly tokens: RateWindow;
  /** Active health from periodic probes (HTTP upstreams); always healthy for backends that are not probed. */
  readonly health: ActiveHealth;
}

export interface ReplicaPoolOptions {
  model: string;
  policyName: string;
  policy: RoutingPolicy;
  members: ReadonlyArray<{ backend: Backend; weight: number }>;
  breaker: BreakerSettings;
  healthCheck: HealthCheckSettings;
  clock: Clock;
  random: Random;
  /** Half-life of the latency averages: long enough to ride out noise, short enough to see a slowdown. */
  ewmaHalfLifeMs?: number;
}

/**
 * The replicas serving one model, and the routing decision over them: builds each member's view (load,
 * latency estimates, availability from readiness and its circuit breaker) and asks the pool's policy.
 */
export class ReplicaPool {
  readonly model: string;
  readonly policyName: string;
  readonly members: readonly PoolMember[];
  readonly #policy: RoutingPolicy;
  readonly #clock: Clock;
  readonly #random: Random;
  #sequence = 0;

  constructor(options: ReplicaPoolOptions) {
    this.model = options.model;
    this.policyName = options.policyName;
    this.#policy = options.policy;
    this.#clock = options.clock;
    this.#random = options.random;
    const halfLifeMs = options.ewmaHalfLifeMs ?? 10_000;
    this.members = options.members.map(({ backend, weight }) => ({
      backend,
      weight,
      outstanding: 0,
      ttft: new Ewma({ halfLifeMs }),
      tpot: new Ewma({ halfLifeMs }),
      breaker: new CircuitBreaker(options.breaker),
      tokens: new RateWindow({ clock: options.clock }),
      health: new ActiveHealth(options.healthCheck),
    }));
  }

  /** True when some member could take a request now. */
  hasAvailable(): boolean {
    const now = this.#clock.now();
    return this.members.some((m) => this.#available(m, now));
  }

  /**
   * Chooses a member for `request`, never one in `exclude` (replicas this request already failed on), and
   * takes its breaker's permission (a half-open breaker lets only its probes through). Undefined when no
   * member can serve.
   */
  pick(request: RouteRequest, exclude: ReadonlySet<PoolMember>): PoolMember | undefined {
    const now = this.#clock.now();
    const skip = new Set(exclude);
    // A half-open breaker may refuse after the policy chose it (its probe slots are taken): choose again.
    for (let tries = 0; tries <= this.members.length; tries++) {
      const views = this.members.map((m) => this.#view(m, now, skip));
      const index = this.#policy(request, views, {
        nowMs: now,
        random: this.#random,
        sequence: this.#sequence++,
      });
      const member = this.members[index];
      if (member === undefined) return undefined;
      if (member.breaker.allow(now)) return member;
      skip.add(member);
    }
    return undefined;
  }

  #available(member: PoolMember, now: number): boolean {
    return member.health.healthy && member.breaker.state(now) !== "open" && member.backend.snapshot().ready;
  }

  #view(member: PoolMember, now: number, skip: ReadonlySet<PoolMember>): ReplicaView {
    const { replica } = member.backend;
    const snapshot = member.backend.snapshot();
    return {
      id: replica.id,
      deployment: replica.deployment,
      provider: replica.provider,
      region: replica.region,
      gpu: replica.gpu,
      weight: member.weight,
      pricePerHourUsd: replica.pricePerGpuHourUsd * replica.gpuCount,
      available:
        !skip.has(member) && snapshot.ready && member.health.healthy && member.breaker.state(now) !== "open",
      outstanding: member.outstanding,
      running: snapshot.running,
      waiting: snapshot.waiting,
      kvCacheUsage: snapshot.kvCacheUsage,
      ttftEwmaMs: member.ttft.value(),
      tpotEwmaMs: member.tpot.value(),
    };
  }
}
