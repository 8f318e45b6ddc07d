/** p99 latency targets of one SLO class, as `--slo interactive:ttft_p99=0.5s,tpot_p99=0.05s` states them. */
export interface SloTarget {
  sloClass: string;
  ttftMs: number;
  tpotMs: number;
}

/**
 * Parses `CLASS:ttft_p99=0.5s,tpot_p99=50ms` (units s or ms; both targets required). Throws a RangeError naming
 * what is wrong.
 */
export function parseSloTarget(spec: string): SloTarget {
  const match = /^([a-z0-9_-]{1,32}):(.+)$/.exec(spec);
  if (match === null)
    throw new RangeError(`--slo must look like CLASS:ttft_p99=0.5s,tpot_p99=0.05s, got "${spec}"`);
  const targets: Record<string, number> = {};
  for (const part of match[2]!.split(",")) {
    const target = /^(ttft|tpot)_p99=(\d+(?:\.\d+)?)(ms|s)$/.exec(part.trim());
    if (target === null) {
      throw new RangeError(`--slo target "${part}" must be ttft_p99=<n>s|ms or tpot_p99=<n>s|ms`);
    }
    const ms = Number(target[2]) * (target[3] === "s" ? 1000 : 1);
    // The class schema takes whole milliseconds.
    targets[target[1]!] = Math.max(1, Math.round(ms));
  }
  if (targets["ttft"] === undefined || targets["tpot"] === undefined) {
    throw new RangeError(`--slo needs both ttft_p99 and tpot_p99, got "${spec}"`);
  }
  return { sloClass: match[1]!, ttftMs: targets["ttft"], tpotMs: targets["tpot"] };
}
