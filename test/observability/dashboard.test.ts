import { beforeAll, describe, expect, it } from "vitest";
import { PATHS, readJson, readYaml } from "./files.js";
import {
  metricNames,
  rawCounterReads,
  recordingRuleNames,
  unbalancedBracket,
  variableNames,
} from "./promql.js";
import { registryCounterNames, registrySeriesNames } from "./registry.js";

interface Target {
  expr?: string;
  refId: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  type: string;
  name: string;
  query?: string | { query: string };
}
interface Dashboard {
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}
interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface PrometheusConfig {
  scrape_configs: { job_name: string }[];
}

const dashboard = readJson<Dashboard>(PATHS.dashboard);
const rules = readYaml<{ groups: { name: string; rules: Rule[] }[] }>(PATHS.alerts).groups.flatMap(
  (g) => g.rules,
);
const jobs = readYaml<PrometheusConfig>(PATHS.prometheus).scrape_configs.map((s) => s.job_name);

/** Panels in order, rows' nested panels included. */
const allPanels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queryPanels = allPanels.filter((p) => p.type !== "row");
const variableQuery = (v: Variable) => (typeof v.query === "string" ? v.query : (v.query?.query ?? ""));
/** Every PromQL expression of the dashboard, named for failure messages. */
const dashboardExprs: [string, string][] = [
  ...queryPanels.flatMap((p) =>
    (p.targets ?? []).map((t): [string, string] => [`${p.title}/${t.refId}`, t.expr ?? ""]),
  ),
  ...dashboard.templating.list
    .filter((v) => v.type === "query")
    .map((v): [string, string] => [`variable ${v.name}`, variableQuery(v)]),
];
const ruleExprs: [string, string][] = rules.map((r) => [r.alert ?? r.record ?? "?", r.expr]);

let series: Set<string>;
let counters: string[];
beforeAll(async () => {
  series = await registrySeriesNames();
  counters = await registryCounterNames();
});

describe.each([
  ["dashboard", dashboardExprs],
  ["alert rules", ruleExprs],
])("PromQL of the %s", (_, exprs) => {
  it("reads only series that createMetrics() registers", () => {
    const unknown = exprs.flatMap(([where, expr]) =>
      metricNames(expr)
        .filter((name) => !series.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it("balances its brackets", () => {
    const bad = exprs.filter(([, expr]) => unbalancedBracket(expr) !== undefined).map(([where]) => where);
    expect(bad).toEqual([]);
  });

  it("reads counters only over a range (rate), never as raw values", () => {
    // label_values(metric, label) in a variable reads label names, not values.
    const queries = exprs.filter(([, expr]) => !expr.startsWith("label_values("));
    const bad = queries.flatMap(([where, expr]) =>
      counters.flatMap((c) => rawCounterReads(expr, c).map((read) => `${where}: ${read}`)),
    );
    expect(bad).toEqual([]);
  });

  it("takes quantiles of buckets aggregated by le", () => {
    const bad = exprs
      .filter(([, expr]) => /_bucket\b/.test(expr))
      .filter(([, expr]) => !(expr.includes("histogram_quantile(") && /by \((?:[^)]*,\s*)?le\b/.test(expr)))
      .map(([where]) => where);
    expect(bad).toEqual([]);
  });
});

describe("the Grafana dashboard", () => {
  it("is the tollgate dashboard at schema version 39", () => {
    expect(dashboard.uid).toBe("tollgate");
    expect(dashboard.schemaVersion).toBe(39);
  });

  it("gives every panel a unique id and every query panel a query on the datasource variable", () => {
    const ids = allPanels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of queryPanels) {
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: `\${datasource}` });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.expr, panel.title).toMatch(/\S/);
    }
  });

  it("offers model and deployment variables from label_values and defines every variable it uses", () => {
    const defined = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(variableQuery(defined.get("model")!)).toMatch(/^label_values\(.*, model\)$/);
    expect(variableQuery(defined.get("deployment")!)).toMatch(/^label_values\(.*, deployment\)$/);
    const undefinedVars = dashboardExprs.flatMap(([where, expr]) =>
      variableNames(expr)
        .filter((name) => !defined.has(name))
        .map((name) => `${where}: $${name}`),
    );
    expect(undefinedVars).toEqual([]);
  });

  it.each([
    ["tollgate_response_cost_usd_bucket"],
    ["tollgate_replica_spend_usd_total"],
    ["tollgate_revenue_usd_total"],
    ["tollgate_slo_requests_total"],
    ["tollgate_replica_busy_seconds_total"],
    ["tollgate_replica_kv_cache_usage_ratio"],
  ])("has a panel on %s", (metric) => {
    expect(dashboardExprs.some(([, expr]) => metricNames(expr).includes(metric))).toBe(true);
  });
});

describe("the alert rules", () => {
  const alerts = rules.filter((r) => r.alert !== undefined);
  const recorded = new Set(rules.flatMap((r) => (r.record === undefined ? [] : [r.record])));

  it("give every alert a duration, a severity and a summary", () => {
    for (const alert of alerts) {
      expect(alert.for, alert.alert).toMatch(/^\d+[smh]$/);
      expect(["page", "ticket", "warning"], alert.alert).toContain(alert.labels?.["severity"]);
      expect(alert.annotations?.["summary"], alert.alert).toMatch(/\S/);
    }
  });

  it("read only recording rules defined in the file", () => {
    const missing = ruleExprs.flatMap(([where, expr]) =>
      recordingRuleNames(expr)
        .filter((name) => !recorded.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(missing).toEqual([]);
  });

  it("select only jobs that prometheus.yml scrapes", () => {
    const named = ruleExprs.flatMap(([, expr]) =>
      [...expr.matchAll(/\bjob=~?"([^"]*)"/g)].flatMap((m) => m[1]!.split("|")),
    );
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((job) => !jobs.includes(job))).toEqual([]);
  });

  // Google SRE Workbook, "Alerting on SLOs": 14.4x over 1 h and 5 min, 6x over 6 h and 30 min, 99% objective.
  it.each([
    ["TollgateSLOBurnRateFast", "14.4", ["1h", "5m"]],
    ["TollgateSLOBurnRateSlow", "6", ["6h", "30m"]],
  ])("%s burns at %sx the 1%% budget over a long and a short window", (name, burn, windows) => {
    const alert = alerts.find((a) => a.alert === name);
    expect(alert?.expr).toContain(`(${burn} * 0.01)`);
    for (const window of windows) {
      const rule = rules.find((r) => r.record === `tollgate:slo_miss_ratio:rate${window}`);
      expect(alert?.expr).toContain(`tollgate:slo_miss_ratio:rate${window}`);
      expect(rule?.expr).toContain(`[${window}]`);
      expect(rule?.expr).toContain('target="all"');
    }
  });

  it.each([
    ["TollgateHighErrorRate", 'status=~"5.."'],
    ["TollgateCostPerResponseSpike", "tollgate:response_cost_usd:mean24h"],
    ["TollgateStoreDown", "tollgate_store_up == 0"],
    ["TollgateReplicaDown", "tollgate_replica_ready"],
  ])("include %s", (name, fragment) => {
    expect(alerts.find((a) => a.alert === name)?.expr).toContain(fragment);
  });
});
