import { describe, expect, it } from "vitest";
import {
  histogramMeanDelta,
  metricDelta,
  metricDeltaBy,
  parseExposition,
  type ScrapePair,
  scrapeMetrics,
  sumSamples,
} from "../../bench/lib/metrics-scrape.js";
import { loopbackServers } from "../helpers/loopback.js";

const BEFORE = `# HELP tollgate_cost_usd_total GPU cost.
# TYPE tollgate_cost_usd_total counter
tollgate_cost_usd_total{model="m",deployment="a"} 1.5
tollgate_cost_usd_total{model="m",deployment="cache"} 0
tollgate_routing_decisions_total{model="m",policy="p",deployment="a"} 3
# TYPE tollgate_queue_time_seconds histogram
tollgate_queue_time_seconds_bucket{class="standard",le="+Inf"} 2
tollgate_queue_time_seconds_sum{class="standard"} 0.5
tollgate_queue_time_seconds_count{class="standard"} 2
tollgate_queue_time_seconds_sum{class="batch"} 9
tollgate_queue_time_seconds_count{class="batch"} 1
`;

const AFTER = `tollgate_cost_usd_total{model="m",deployment="a"} 4.5
tollgate_cost_usd_total{model="m",deployment="cache"} 0
tollgate_cost_usd_total{model="m",deployment="b"} 2
tollgate_routing_decisions_total{model="m",policy="p",deployment="b"} 5
tollgate_routing_decisions_total{model="m",policy="p",deployment="a"} 7
tollgate_queue_time_seconds_bucket{class="standard",le="+Inf"} 6
tollgate_queue_time_seconds_sum{class="standard"} 1.7
tollgate_queue_time_seconds_count{class="standard"} 6
tollgate_queue_time_seconds_sum{class="batch"} 9
tollgate_queue_time_seconds_count{class="batch"} 1
tollgate_store_bytes{store="memory"} 4096
`;

const pair = (): ScrapePair => ({ before: parseExposition(BEFORE), after: parseExposition(AFTER) });

describe("parseExposition", () => {
  it("reads names, unescaped labels and values, skipping comments and blank lines", () => {
    const text = [
      "# HELP x A metric.",
      "",
      'x{path="/a\\"b\\\\c\\nd",code="200"} 12',
      "up 1 1700000000000",
      "nan_gauge Nan",
      'le_bucket{le="+Inf"} +Inf',
      "neg -Inf",
    ].join("\n");
    const samples = parseExposition(text);
    expect(samples.slice(0, 2)).toEqual([
      { name: "x", labels: { path: '/a"b\\c\nd', code: "200" }, value: 12 },
      { name: "up", labels: {}, value: 1 },
    ]);
    expect(samples[2]!.value).toBeNaN();
    expect(samples[3]).toEqual({
      name: "le_bucket",
      labels: { le: "+Inf" },
      value: Number.POSITIVE_INFINITY,
    });
    expect(samples[4]!.value).toBe(Number.NEGATIVE_INFINITY);
  });

  it("throws on a malformed line, malformed labels or a bad value, naming the line", () => {
    expect(() => parseExposition("ok 1\nnot a sample")).toThrow(/line 2 is not a valid sample/);
    expect(() => parseExposition('x{a="1",b} 1')).toThrow(/line 1 has malformed labels/);
    expect(() => parseExposition("x one")).toThrow(/line 1 has a bad value/);
  });
});

describe("sums and deltas", () => {
  it("sums the samples of a name whose labels include the given ones", () => {
    const { after } = pair();
    expect(sumSamples(after, "tollgate_cost_usd_total")).toBe(6.5);
    expect(sumSamples(after, "tollgate_cost_usd_total", { deployment: "a" })).toBe(4.5);
    expect(sumSamples(after, "tollgate_cost_usd_total", { deployment: "zzz" })).toBe(0);
    expect(sumSamples(after, "absent")).toBe(0);
  });

  it("takes the growth between two scrapes, counting series absent before as 0", () => {
    expect(metricDelta(pair(), "tollgate_cost_usd_total")).toBe(5);
    expect(metricDelta(pair(), "tollgate_cost_usd_total", { model: "m", deployment: "cache" })).toBe(0);
    expect(metricDelta(pair(), "tollgate_cost_usd_total", { deployment: "b" })).toBe(2);
  });

  it("takes the growth per label value, in the order of the later scrape", () => {
    const deltas = metricDeltaBy(pair(), "tollgate_routing_decisions_total", "deployment");
    expect([...deltas]).toEqual([
      ["b", 5],
      ["a", 4],
    ]);
  });

  it("takes a histogram's mean over the interval from _sum and _count, 0 when nothing was observed", () => {
    expect(histogramMeanDelta(pair(), "tollgate_queue_time_seconds", { class: "standard" })).toBeCloseTo(0.3);
    expect(histogramMeanDelta(pair(), "tollgate_queue_time_seconds", { class: "batch" })).toBe(0);
    expect(histogramMeanDelta(pair(), "absent")).toBe(0);
  });
});

describe("scrapeMetrics", () => {
  const listen = loopbackServers();

  function serve(status: number, body: string): Promise<string> {
    return listen((req, res) => {
      res.writeHead(req.url === "/metrics" ? status : 404, { "content-type": "text/plain" });
      res.end(body);
    });
  }

  it("GETs /metrics and parses it", async () => {
    const baseUrl = await serve(200, AFTER);
    expect(await scrapeMetrics(baseUrl)).toEqual(parseExposition(AFTER));
  });

  it("throws on a non-2xx answer", async () => {
    const baseUrl = await serve(503, "");
    await expect(scrapeMetrics(baseUrl)).rejects.toThrow(/answered 503/);
  });
});
