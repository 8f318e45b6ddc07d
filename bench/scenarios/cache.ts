import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { hashString, SeededRandom } from "../../src/core/random.js";
import { startGateway } from "../harness/processes.js";
import type { LatencySummary } from "../lib/histogram.js";
import { metricDelta, type ScrapePair, scrapeMetrics, sumSamples } from "../lib/metrics-scrape.js";
import { type OpenLoopResult, runOpenLoop } from "../lib/open-loop.js";
import { type WorkloadRequest, wordText } from "../lib/workload.js";
import { createXCacheSender } from "../lib/x-cache-sender.js";
import { repeatShare, ZipfDistribution } from "../lib/zipf.js";
import type { Scenario } from "./types.js";

/**
 * The response cache under a Zipf-popular workload: N distinct temperature-0 chat prompts, each request picking
 * one by a Zipf law of exponent s, offered open loop (Poisson) to a gateway with the cache on and then to a fresh
 * one with `cache.enabled: false`. Both runs of a setting get the same arrivals and the same prompt sequence.
 *
 * Per run: the HIT share (from `x-cache`, and from tollgate_cache_requests_total), responses/s, end-to-end
 * latency (responses are JSON, not streamed), GPU cost per response (tollgate_cost_usd_total over all 2xx
 * responses, so a hit is a zero-cost response), USD saved (tollgate_cache_saved_cost_usd_total) and what the
 * in-memory store holds at the end. The expected hit rate is the share of requests whose prompt occurred earlier
 * in the sequence: an unbounded cache reaches it only with coalescing, which turns a request arriving while the
 * first generation of its prompt is still running into a hit instead of a second generation.
 */
const CONFIG = "bench/configs/cache.yaml";
const MODEL = "qwen2.5-0.5b-instruct";

/** Fixed lengths, so every generation of every prompt costs the same GPU work. */
const PROMPTS = { count: 1000, tokens: 256, maxTokens: 64, seed: 5 } as const;

const FULL = { exponents: [0.6, 1.0, 1.2], durationMs: 12_000, warmupMs: 2_000 } as const;
const QUICK = { exponents: [1.0], durationMs: 3_000, warmupMs: 1_000 } as const;

export const cache: Scenario = {
  name: "cache",
  description:
    "Response cache on vs off under Zipf-popular temperature-0 chat: hit rate, latency, cost saved",
  async run(context) {
    const settings = {
      prompts: PROMPTS,
      ...(context.quick ? QUICK : FULL),
      rate: 50,
      arrivals: "poisson",
      arrivalSeed: 23,
      drainTimeoutMs: 15_000,
    };
    const dir = mkdtempSync(join(tmpdir(), "tollgate-cache-"));
    const offConfig = join(dir, "cache-off.yaml");
    const template = parse(readFileSync(CONFIG, "utf8")) as { cache: Record<string, unknown> };
    writeFileSync(offConfig, stringify({ ...template, cache: { ...template.cache, enabled: false } }));
    const prompts = promptRequests();
    const runs: Record<string, unknown> = {};
    const summary: Record<string, RunSummary> = {};
    try {
      for (const exponent of settings.exponents) {
        const zipf = new ZipfDistribution({ n: PROMPTS.count, exponent });
        for (const [label, configFile] of [
          ["on", CONFIG],
          ["off", offConfig],
        ] as const) {
          const name = runName(exponent, label);
          context.log(`${name}: ${settings.rate} req/s Poisson for ${settings.durationMs / 1000} s`);
          const measured = await measure({ configFile, zipf, prompts, settings });
          runs[name] = measured.run;
          summary[name] = measured.summary;
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return {
      config: { gatewayConfig: CONFIG, model: MODEL, ...settings },
      results: { "open loop": runs, summary },
      notes: notes({ summary, exponents: settings.exponents, rate: settings.rate }),
    };
  },
};

/** One run on a fresh gateway: warm-up, scrape, the Zipf sequence open loop, scrape. */
async function measure(o: {
  configFile: string;
  zipf: ZipfDistribution;
  prompts: readonly WorkloadRequest[];
  settings: {
    rate: number;
    durationMs: number;
    warmupMs: number;
    arrivalSeed: number;
    drainTimeoutMs: number;
  };
}): Promise<{ run: Record<string, unknown>; summary: RunSummary }> {
  const { zipf, settings } = o;
  const gateway = await startGateway(o.configFile);
  const sender = createXCacheSender({ baseUrl: gateway.baseUrl });
  try {
    await warmUp({ baseUrl: gateway.baseUrl, rate: settings.rate, durationMs: settings.warmupMs });
    const before = await scrapeMetrics(gateway.baseUrl);
    // Same seeds for both runs of a setting: the same prompts in the same order at the same times.
    const random = new SeededRandom(hashString(`zipf-${zipf.exponent}`, PROMPTS.seed));
    const drawn: number[] = [];
    const result = await runOpenLoop({
      baseUrl: gateway.baseUrl,
      rate: settings.rate,
      durationMs: settings.durationMs,
      arrivals: "poisson",
      seed: settings.arrivalSeed,
      send: sender.send,
      next: () => {
        const index = zipf.sample(random);
        drawn.push(index);
        return o.prompts[index]!;
      },
      drainTimeoutMs: settings.drainTimeoutMs,
    });
    const after = await scrapeMetrics(gateway.baseUrl);
    const byXCache = sender.latencies();
    return {
      run: { ...result, xCache: sender.tally, e2eByXCache: byXCache },
      summary: summarise({
        before,
        after,
        result,
        byXCache,
        hits: sender.tally.HIT,
        expectedHitRate: repeatShare(drawn),
        analyticHitRate: zipf.expectedRepeatShare(drawn.length),
      }),
    };
  } finally {
    await sender.close();
    await gateway.stop();
  }
}

/**
 * A freshly started gateway is slow for its first seconds (JIT compilation; README: "stalls of up to 1.1 s in the
 * first seconds after start-up"). Without a warm-up those seconds land mostly on the cache-on run's misses, since
 * its cold cache makes the start all misses, and inflate their tail. Warm-up requests are not cacheable
 * (temperature 1: BYPASS, nothing stored) and finish before the first scrape, so no reported number counts them.
 */
async function warmUp(o: { baseUrl: string; rate: number; durationMs: number }): Promise<void> {
  const random = new SeededRandom(hashString("warm-up", PROMPTS.seed));
  await runOpenLoop({
    ...o,
    arrivals: "uniform",
    seed: 0,
    next: () => chatRequest({ content: wordText(random, PROMPTS.tokens), temperature: 1 }),
  });
}

/** A non-streamed chat request of one user message of PROMPTS.tokens tokens, asking for PROMPTS.maxTokens. */
function chatRequest(o: { content: string; temperature: number }): WorkloadRequest {
  const body = {
    model: MODEL,
    messages: [{ role: "user", content: o.content }],
    max_tokens: PROMPTS.maxTokens,
    temperature: o.temperature,
    stream: false,
  };
  return {
    body,
    bodyText: JSON.stringify(body),
    headers: { "content-type": "application/json" },
    promptTokens: PROMPTS.tokens,
    userTokens: PROMPTS.tokens,
    maxTokens: PROMPTS.maxTokens,
    repeated: false,
  };
}

/** The N distinct prompts; prompt i is the same text in every run. */
function promptRequests(): WorkloadRequest[] {
  return Array.from({ length: PROMPTS.count }, (_, i) => {
    const random = new SeededRandom(hashString(`prompt-${i}`, PROMPTS.seed));
    return chatRequest({ content: wordText(random, PROMPTS.tokens), temperature: 0 });
  });
}

interface RunSummary {
  /** Share of requests whose prompt occurred earlier in the sequence: what the cache can reach. */
  expectedHitRate: number;
  /** The same share expected for a sequence of this length drawn from the Zipf law (not this draw). */
  analyticHitRate: number;
  /** HIT share of 2xx responses, from `x-cache`. */
  hitRate: number;
  /** (hit + coalesced) / all, from tollgate_cache_requests_total. */
  metricHitRate: number;
  /** Of the metric's hits: answered while the prompt's first generation was still in flight. */
  coalescedHits: number;
  responses: number;
  responsesPerSecond: number;
  e2eP50Ms: number;
  e2eP99Ms: number;
  /** Median latency of HIT and of MISS responses, timed from the send (0 when there were none). */
  hitE2eP50Ms: number;
  missE2eP50Ms: number;
  /** tollgate_cost_usd_total (GPU deployments) / 2xx responses: a hit is a response that cost nothing. */
  costPerResponseUsd: number;
  gpuCostUsd: number;
  /** tollgate_gpu_seconds_total of GPU deployments: accelerator-seconds attributed to the generations. */
  gpuSeconds: number;
  /** Responses that needed a GPU (2xx responses that were not x-cache HITs). */
  generations: number;
  /** tollgate_cache_saved_cost_usd_total: what generating the cache-served answers again would have cost. */
  savedUsd: number;
  storeBytes: number;
  storeEntries: number;
}

function summarise(
  o: ScrapePair & {
    result: OpenLoopResult;
    byXCache: Record<string, LatencySummary>;
    /** Responses with `x-cache: HIT`. */
    hits: number;
    expectedHitRate: number;
    analyticHitRate: number;
  },
): RunSummary {
  const responses = o.result.ok;
  const delta = (name: string, labels: Record<string, string> = {}) => metricDelta(o, name, labels);
  const cacheRequests = (result?: string) =>
    delta("tollgate_cache_requests_total", { model: MODEL, ...(result && { result }) });
  const requests = cacheRequests();
  // Hits are recorded under deployment="cache" at cost 0; leave them out so only GPU work is summed.
  const gpuOnly = (name: string) =>
    delta(name, { model: MODEL }) - delta(name, { model: MODEL, deployment: "cache" });
  const gpuCostUsd = gpuOnly("tollgate_cost_usd_total");
  return {
    expectedHitRate: o.expectedHitRate,
    analyticHitRate: o.analyticHitRate,
    hitRate: responses > 0 ? o.hits / responses : 0,
    metricHitRate: requests > 0 ? (cacheRequests("hit") + cacheRequests("coalesced")) / requests : 0,
    coalescedHits: cacheRequests("coalesced"),
    responses,
    responsesPerSecond: o.result.requestsPerSecond,
    e2eP50Ms: o.result.e2e.p50,
    e2eP99Ms: o.result.e2e.p99,
    hitE2eP50Ms: o.byXCache["HIT"]?.p50 ?? 0,
    missE2eP50Ms: o.byXCache["MISS"]?.p50 ?? 0,
    costPerResponseUsd: responses > 0 ? gpuCostUsd / responses : 0,
    gpuCostUsd,
    gpuSeconds: gpuOnly("tollgate_gpu_seconds_total"),
    generations: responses - o.hits,
    savedUsd: delta("tollgate_cache_saved_cost_usd_total"),
    storeBytes: sumSamples(o.after, "tollgate_store_bytes", { store: "memory" }),
    storeEntries: sumSamples(o.after, "tollgate_store_entries", { store: "memory" }),
  };
}

function notes(o: {
  summary: Record<string, RunSummary>;
  exponents: readonly number[];
  rate: number;
}): string[] {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const ms = (x: number) => x.toFixed(x < 10 ? 1 : 0);
  const usd = (x: number) => `$${x.toExponential(2)}`;
  const runs = o.exponents.flatMap((exponent) => {
    const [on, off] = [o.summary[runName(exponent, "on")], o.summary[runName(exponent, "off")]];
    if (on === undefined || off === undefined) return [];
    return [
      `${runName(exponent, "on")}: HIT ${pct(on.hitRate)} (metric ${pct(on.metricHitRate)}, ${on.coalescedHits} ` +
        `coalesced; expected ${pct(on.expectedHitRate)}, analytic ${pct(on.analyticHitRate)}); ` +
        `${on.responsesPerSecond.toFixed(1)} responses/s; e2e p50/p99 ${ms(on.e2eP50Ms)}/${ms(on.e2eP99Ms)} ms ` +
        `(HIT p50 ${ms(on.hitE2eP50Ms)}, MISS p50 ${ms(on.missE2eP50Ms)}); ${usd(on.costPerResponseUsd)} per ` +
        `response; ${usd(on.savedUsd)} saved; store ${(on.storeBytes / 2 ** 20).toFixed(2)} MiB, ${on.storeEntries} entries`,
      `${runName(exponent, "off")}: ${off.responsesPerSecond.toFixed(1)} responses/s; e2e p50/p99 ` +
        `${ms(off.e2eP50Ms)}/${ms(off.e2eP99Ms)} ms; ${usd(off.costPerResponseUsd)} per response`,
      `s=${exponent.toFixed(1)}: ${off.generations} -> ${on.generations} generations cut GPU cost by ` +
        `${pct(1 - on.gpuCostUsd / off.gpuCostUsd)} (${usd(off.gpuCostUsd)} -> ${usd(on.gpuCostUsd)}; ` +
        `${off.gpuSeconds.toFixed(1)} -> ${on.gpuSeconds.toFixed(1)} GPU-s), while ` +
        `tollgate_cache_saved_cost_usd_total reports ${usd(on.savedUsd)} saved`,
    ];
  });
  return [
    `offered ${o.rate} req/s (Poisson) of non-streamed chat (${PROMPTS.tokens}-token prompts, max_tokens ` +
      `${PROMPTS.maxTokens}, temperature 0) to Qwen2.5-0.5B on 2 x L4 (simulated, roofline); prompts drawn from ` +
      `${PROMPTS.count} by a Zipf law of exponent s; latencies are end to end (JSON bodies) from the intended ` +
      "send time; cost per response = GPU cost (tollgate_cost_usd_total) / 2xx responses, hits counting as free",
    "expected = share of requests whose prompt appeared earlier in this sequence (what the cache can reach: " +
      "coalescing makes concurrent first requests hits too); analytic = the same share expected for any sequence " +
      "of this length from the Zipf law",
    ...runs,
    "reading the cost: a response is charged its share of the engine steps it took part in, and a decode step " +
      "of this memory-bound model takes about as long for a few sequences as for a dozen; when both replicas " +
      "keep a batch running with the cache on or off, fewer generations make batches smaller rather than " +
      "GPU-seconds fewer, and each remaining generation is charged more. The saved-cost metric prices each hit " +
      "at its original generation's charge: what the cache saves once the fleet is sized to the traffic that " +
      "still reaches it, not what this fleet's bill drops by",
  ];
}

function runName(exponent: number, cache: "on" | "off"): string {
  return `s=${exponent.toFixed(1)}, cache ${cache}`;
}
