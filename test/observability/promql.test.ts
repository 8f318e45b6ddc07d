import { describe, expect, it } from "vitest";
import {
  metricNames,
  rawCounterReads,
  recordingRuleNames,
  unbalancedBracket,
  variableNames,
} from "./promql.js";

describe("PromQL reading helpers", () => {
  const expr =
    'sum by (le) (rate(tollgate_a_bucket{job=~"$job",x="tollgate_not_a_metric"}[5m])) / tollgate:b:rate5m' +
    ` and on (model) tollgate_c_total > \${threshold} + $__rate_interval`;

  it("finds tollgate_ series, not label values or recording rules", () => {
    expect(metricNames(expr)).toEqual(["tollgate_a_bucket", "tollgate_c_total"]);
  });

  it("finds recording rules and dashboard variables", () => {
    expect(recordingRuleNames(expr)).toEqual(["tollgate:b:rate5m"]);
    expect(variableNames(expr)).toEqual(["job", "threshold"]);
  });

  it("finds the bracket that does not close", () => {
    expect(unbalancedBracket(expr)).toBeUndefined();
    expect(unbalancedBracket("sum(rate(x[5m])")).toBe("(");
    expect(unbalancedBracket('x{a="("}]')).toBe("]");
  });

  it("allows a counter over a range or as a set filter, and flags it read raw", () => {
    expect(rawCounterReads(expr, "tollgate_c_total")).toEqual([]);
    expect(rawCounterReads('sum(tollgate_c_total{job="x"})', "tollgate_c_total")).toEqual([
      "tollgate_c_total",
    ]);
  });
});
