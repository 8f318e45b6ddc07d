import { encode } from "gpt-tokenizer/encoding/cl100k_base";
import { describe, expect, it } from "vitest";
import { ONE_TOKEN_WORDS } from "../../bench/lib/words.js";
import {
  CHAT_WORKLOAD,
  createWorkload,
  REPEAT_POOL_SIZE,
  type WorkloadRequest,
  type WorkloadSpec,
  wordText,
} from "../../bench/lib/workload.js";
import { SeededRandom } from "../../src/core/random.js";

function draw(spec: WorkloadSpec, n: number): WorkloadRequest[] {
  const workload = createWorkload(spec);
  return Array.from({ length: n }, () => workload.next());
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function fraction<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  return items.filter(predicate).length / items.length;
}

function messagesOf(request: WorkloadRequest): { role: string; content: string }[] {
  return request.body["messages"] as { role: string; content: string }[];
}

/** Short prompts keep the statistical tests fast; the length test uses the real defaults. */
const SHORT: WorkloadSpec = {
  ...CHAT_WORKLOAD,
  promptTokens: { median: 20, sigma: 0.5, min: 4, max: 100 },
  outputTokens: { median: 10, sigma: 0.5, min: 1, max: 50 },
  sharedPrefix: { ratio: 0.3, prefixes: 3, tokens: 16 },
};

describe("ONE_TOKEN_WORDS", () => {
  it("holds distinct words that are each one cl100k token after a space", () => {
    expect(new Set(ONE_TOKEN_WORDS).size).toBe(ONE_TOKEN_WORDS.length);
    const multiToken = ONE_TOKEN_WORDS.filter((word) => encode(" " + word).length !== 1);
    expect(multiToken).toEqual([]);
  });

  it("generates text of the requested cl100k token count (within 2%)", () => {
    const random = new SeededRandom(7);
    for (const tokens of [16, 512, 1020, 8000]) {
      const count = encode(wordText(random, tokens)).length;
      expect(Math.abs(count - tokens)).toBeLessThanOrEqual(Math.ceil(tokens * 0.02));
    }
  });

  it("makes whole request prompts of promptTokens tokens", () => {
    for (const request of draw(CHAT_WORKLOAD, 20)) {
      const tokens = messagesOf(request).reduce((sum, m) => sum + encode(m.content).length, 0);
      expect(Math.abs(tokens - request.promptTokens)).toBeLessThanOrEqual(
        Math.ceil(request.promptTokens * 0.02),
      );
    }
  });
});

describe("createWorkload", () => {
  it("is reproducible for a seed and differs across seeds", () => {
    const a = draw(SHORT, 50).map((r) => r.bodyText + JSON.stringify(r.headers));
    const b = draw(SHORT, 50).map((r) => r.bodyText + JSON.stringify(r.headers));
    const c = draw({ ...SHORT, seed: 2 }, 50).map((r) => r.bodyText + JSON.stringify(r.headers));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("builds an OpenAI chat body whose bodyText is its JSON", () => {
    const [plain] = draw({ ...SHORT, sharedPrefix: { ratio: 0, prefixes: 0, tokens: 1 } }, 1);
    expect(JSON.parse(plain!.bodyText)).toEqual(plain!.body);
    expect(plain!.body).toMatchObject({ model: "llama-3.1-8b-instruct", temperature: 0, stream: false });
    expect(plain!.body["max_tokens"]).toBe(plain!.maxTokens);
    expect(plain!.body).not.toHaveProperty("stream_options");
    expect(plain!.headers).toEqual({ "content-type": "application/json" });

    const [streamed] = draw({ ...SHORT, stream: true, includeUsage: true }, 1);
    expect(streamed!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const [noUsage] = draw({ ...SHORT, stream: true, includeUsage: false }, 1);
    expect(noUsage!.body).not.toHaveProperty("stream_options");
  });

  it("draws CHAT_WORKLOAD lengths with the spec's medians and inside its clamps", () => {
    const requests = draw({ ...CHAT_WORKLOAD, sharedPrefix: { ratio: 0, prefixes: 0, tokens: 1 } }, 10_000);
    const prompts = requests.map((r) => r.userTokens);
    const outputs = requests.map((r) => r.maxTokens);
    expect(Math.abs(median(prompts) / 1020 - 1)).toBeLessThan(0.04);
    expect(Math.abs(median(outputs) / 129 - 1)).toBeLessThan(0.04);
    expect(Math.min(...prompts)).toBeGreaterThanOrEqual(16);
    expect(Math.max(...prompts)).toBeLessThanOrEqual(8000);
    expect(Math.min(...outputs)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...outputs)).toBeLessThanOrEqual(1024);
    // sigma 0.9 puts ~0.5% of log-normal draws above 8,000: the upper clamp is actually exercised.
    expect(prompts.filter((t) => t === 8000).length).toBeGreaterThan(0);
    expect(requests.every((r) => r.promptTokens === r.userTokens)).toBe(true);
  });

  it("clamps narrow distributions", () => {
    const requests = draw({ ...SHORT, promptTokens: { median: 100, sigma: 2, min: 50, max: 60 } }, 1000);
    expect(requests.every((r) => r.userTokens >= 50 && r.userTokens <= 60)).toBe(true);
  });

  it("starts sharedPrefix.ratio of requests with one of the shared system prompts", () => {
    const requests = draw(SHORT, 10_000);
    const prefixed = requests.filter((r) => r.prefixId !== undefined);
    expect(Math.abs(prefixed.length / requests.length - 0.3)).toBeLessThan(0.015);
    const systemPrompts = new Map<number, string>();
    for (const request of prefixed) {
      const [system, user] = messagesOf(request);
      expect(system!.role).toBe("system");
      expect(user!.role).toBe("user");
      const seen = systemPrompts.get(request.prefixId!) ?? system!.content;
      expect(system!.content).toBe(seen);
      systemPrompts.set(request.prefixId!, seen);
      expect(request.promptTokens).toBe(request.userTokens + 16);
    }
    expect([...systemPrompts.keys()].sort()).toEqual([0, 1, 2]);
    expect(new Set(systemPrompts.values()).size).toBe(3);
    expect(encode(systemPrompts.get(0)!).length).toBe(16);
    for (const request of requests.filter((r) => r.prefixId === undefined)) {
      expect(messagesOf(request).map((m) => m.role)).toEqual(["user"]);
    }
  });

  it("repeats repeatRatio of requests byte for byte, and no others", () => {
    const requests = draw({ ...SHORT, repeatRatio: 0.2 }, 10_000);
    const repeated = requests.filter((r) => r.repeated);
    expect(Math.abs(repeated.length / requests.length - 0.2)).toBeLessThan(0.015);
    const fresh = new Map(requests.filter((r) => !r.repeated).map((r) => [r.bodyText, r]));
    // Fresh requests are all distinct: only the repeats collide.
    expect(fresh.size).toBe(requests.length - repeated.length);
    for (const request of repeated) {
      const original = fresh.get(request.bodyText);
      expect(original).toBeDefined();
      expect(request.headers).toEqual(original!.headers);
    }
  });

  it("repeats only from the last REPEAT_POOL_SIZE distinct requests", () => {
    const requests = draw({ ...SHORT, repeatRatio: 0.5 }, 6000);
    const freshIndex = new Map<string, number>();
    let freshCount = 0;
    for (const request of requests) {
      if (!request.repeated) {
        freshIndex.set(request.bodyText, freshCount++);
        continue;
      }
      const index = freshIndex.get(request.bodyText)!;
      expect(freshCount - index).toBeLessThanOrEqual(REPEAT_POOL_SIZE);
    }
  });

  it("sends keyedRatio of requests with a bearer key, uniform over apiKeys", () => {
    const apiKeys = ["k1", "k2", "k3", "k4"];
    const requests = draw({ ...SHORT, keyedRatio: 0.4, apiKeys }, 10_000);
    const keyed = requests.filter((r) => r.apiKey !== undefined);
    expect(Math.abs(keyed.length / requests.length - 0.4)).toBeLessThan(0.015);
    for (const key of apiKeys) {
      expect(Math.abs(fraction(keyed, (r) => r.apiKey === key) - 0.25)).toBeLessThan(0.025);
    }
    for (const request of requests) {
      expect(request.headers["authorization"]).toBe(
        request.apiKey === undefined ? undefined : `Bearer ${request.apiKey}`,
      );
    }
  });

  it("labels requests with SLO classes in proportion to their weights", () => {
    const requests = draw({ ...SHORT, sloClassMix: { interactive: 3, batch: 1, none: 0 } }, 10_000);
    expect(Math.abs(fraction(requests, (r) => r.sloClass === "interactive") - 0.75)).toBeLessThan(0.015);
    expect(Math.abs(fraction(requests, (r) => r.sloClass === "batch") - 0.25)).toBeLessThan(0.015);
    expect(requests.every((r) => r.headers["x-tollgate-slo-class"] === r.sloClass)).toBe(true);
    expect(draw(SHORT, 100).every((r) => !("x-tollgate-slo-class" in r.headers))).toBe(true);
  });

  it("rejects an invalid spec, naming every bad field", () => {
    expect(() =>
      createWorkload({
        ...SHORT,
        repeatRatio: 1.5,
        keyedRatio: 0.5,
        apiKeys: [],
        promptTokens: { median: 10, sigma: 1, min: 20, max: 5 },
      }),
    ).toThrow(/repeatRatio must be in \[0, 1\], got 1\.5.*apiKeys must not be empty|promptTokens\.max/);
    expect(() => createWorkload({ ...SHORT, sloClassMix: { a: -1 } })).toThrow(/sloClassMix\.a/);
  });
});
