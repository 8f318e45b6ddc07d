import { hashString, SeededRandom } from "../core/random.js";
import { RecentPrompts } from "./recent-prompts.js";
import {
  drawLength,
  idsPrompt,
  type LengthDistribution,
  NamedPrefixes,
  pickWeighted,
  SpecProblems,
  weightedTable,
  wordPrompt,
} from "./sampling.js";

export { type LengthDistribution, wordText } from "./sampling.js";

/** An open-loop synthetic workload: what arrives, how fast, for how long. */
export interface WorkloadSpec {
  /** Mean arrival rate (requests per second of simulated time); arrivals are a Poisson process. */
  rate: number;
  /** Simulated seconds over which requests arrive. */
  durationS: number;
  /** Model id (or alias) sent in every request. */
  model: string;
  /** Tokens in the user message (the chat template's framing comes on top). */
  promptTokens: LengthDistribution;
  /** Sent as max_tokens; the runner makes the simulated engines generate exactly this many. */
  outputTokens: LengthDistribution;
  /**
   * Class name -> weight, sent as x-tollgate-slo-class would be: it can only lower the class below the
   * client's own (the default class for anonymous clients). Empty: every request runs in its client's class.
   */
  sloClassMix: Readonly<Record<string, number>>;
  /** Distinct client addresses the requests come from (the guard limits per address). */
  clients: number;
  temperature: number;
  /**
   * `ratio` of requests (0-1) begin with one of `prefixes` shared prefixes of `tokens` tokens, uniform over
   * them, before their own `promptTokens` draw (so the prefix comes on top of it), as bench/lib/workload.ts's
   * `sharedPrefix`. Prefix i is named "shared-i" and its words are those of a trace line's prefix_id
   * "shared-i" (NamedPrefixes in sampling.ts). Default: none.
   */
  sharedPrefix?: { ratio: number; prefixes: number; tokens: number };
  /**
   * Share of requests (0-1) that exactly repeat one of the last distinct requests (RecentPrompts:
   * REPEAT_POOL_SIZE of them), uniform over them: the same prompt, output length and class, from a client
   * drawn afresh. Default 0.
   */
  repeatRatio?: number;
}

export interface Arrival {
  /** 0-based position in the workload. */
  index: number;
  /** Simulated time of arrival, ms from the start of the run. */
  atMs: number;
  /** The user message: exactly `promptTokens` cl100k tokens. */
  prompt: string;
  /** The cl100k token ids of `prompt` (the pipeline takes them instead of tokenizing the text again). */
  promptIds: readonly number[];
  promptTokens: number;
  outputTokens: number;
  sloClass?: string;
  /** 0-based client number, in [0, clients). */
  client: number;
  /**
   * Where the prompt's first `tokens` tokens come from, as a trace line's prefix_id and prefix_tokens: a named
   * shared prefix ("shared-2"), or "#N" for the start of arrival N's prompt (an exact repeat of arrival N when
   * `tokens` is the whole of both prompts). Undefined: the whole prompt is the request's own.
   */
  prefix?: { id: string; tokens: number };
}

/**
 * Chat-shaped defaults. Medians from the Azure conversation trace published with Splitwise (Patel et al., ISCA
 * 2024): prompts about 1,020 tokens, outputs about 129. The sigmas (0.9, 0.8) are an assumption giving a heavy
 * right tail, not a fit; the clamps keep a prompt and its output inside an 8k+1k context. Same as
 * bench/lib/workload.ts's CHAT_WORKLOAD, so bench and simulation runs are comparable.
 */
export const CHAT_LENGTHS = Object.freeze({
  promptTokens: Object.freeze({ median: 1020, sigma: 0.9, min: 16, max: 8000 }),
  outputTokens: Object.freeze({ median: 129, sigma: 0.8, min: 1, max: 1024 }),
});

/**
 * The arrivals of `spec`, in time order, as a generator (the workload is never held in memory). The same spec
 * and seed give the same sequence. Throws at the first call, naming the field, if the spec is invalid.
 */
export function* arrivals(spec: WorkloadSpec, seed: number): Generator<Arrival> {
  validate(spec);
  // Separate streams: text draws once per token, so a change to a length distribution does not reshuffle the
  // arrival times or classes, and vice versa. Shared prefixes and repeats draw from a stream of their own, so
  // turning them on leaves every arrival's time, length, client and class draws as they were.
  const times = new SeededRandom(hashString("arrivals", seed >>> 0));
  const decisions = new SeededRandom(hashString("decisions", seed >>> 0));
  const text = new SeededRandom(hashString("text", seed >>> 0));
  const mix = new SeededRandom(hashString("mix", seed >>> 0));
  const classes = weightedTable(spec.sloClassMix);
  const shared = spec.sharedPrefix;
  const prefixes = new NamedPrefixes();
  const repeatRatio = spec.repeatRatio ?? 0;
  const recent = new RecentPrompts<Pick<Arrival, "outputTokens" | "sloClass">>();
  // Time accumulates in seconds and atMs is derived from it, so a trace line's `t` can hold the exact time
  // and replaying it gives back the same atMs (see trace.ts).
  let atS = 0;
  for (let index = 0; ; index++) {
    // Exponential gaps: 1 - u is in (0, 1], so the log is finite.
    atS += -Math.log(1 - times.next()) / spec.rate;
    if (atS >= spec.durationS) return;
    const atMs = atS * 1000;
    const promptTokens = drawLength(decisions, spec.promptTokens);
    const outputTokens = drawLength(decisions, spec.outputTokens);
    const client = Math.floor(decisions.next() * spec.clients);
    const sloClass = classes === undefined ? undefined : pickWeighted(classes, decisions.next());

    const original = recent.size > 0 && mix.next() < repeatRatio ? recent.pick(mix.next()) : undefined;
    if (original !== undefined) {
      // Its trace line is a "#N" prefix covering the whole prompt, which replays with no words drawn: so no
      // words are drawn here either.
      const prompt = idsPrompt(original.ids);
      const tokens = original.ids.length;
      yield withClass(
        {
          index,
          atMs,
          prompt: prompt.text,
          promptIds: prompt.ids,
          promptTokens: tokens,
          outputTokens: original.data.outputTokens,
          client,
          prefix: { id: `#${original.index}`, tokens },
        },
        original.data.sloClass,
      );
      continue;
    }
    const prefix =
      shared !== undefined && shared.ratio > 0 && mix.next() < shared.ratio
        ? { id: `shared-${Math.floor(mix.next() * shared.prefixes)}`, tokens: shared.tokens }
        : undefined;
    const own = wordPrompt(text, promptTokens);
    const words = prefix === undefined ? undefined : prefixes.of(prefix.id, prefix.tokens);
    const arrival = withClass(
      {
        index,
        atMs,
        prompt: words === undefined ? own.text : words.text + own.text,
        promptIds: words === undefined ? own.ids : words.ids.concat(own.ids),
        promptTokens: promptTokens + (prefix?.tokens ?? 0),
        outputTokens,
        client,
        ...(prefix !== undefined && { prefix }),
      },
      sloClass,
    );
    // Only a workload with repeats pays for the pool.
    if (repeatRatio > 0) recent.add(index, arrival.promptIds, { outputTokens, sloClass });
    yield arrival;
  }
}

/** The arrival with its class, when it has one (no `sloClass: undefined` key: traces replay without it). */
function withClass(arrival: Arrival, sloClass: string | undefined): Arrival {
  if (sloClass !== undefined) arrival.sloClass = sloClass;
  return arrival;
}

function validate(spec: WorkloadSpec): void {
  const problems = new SpecProblems();
  problems.positive("rate", spec.rate);
  problems.positive("durationS", spec.durationS);
  problems.check(spec.model.length > 0, "model", "must not be empty", spec.model);
  problems.lengths("promptTokens", spec.promptTokens);
  problems.lengths("outputTokens", spec.outputTokens);
  problems.check(
    Number.isInteger(spec.clients) && spec.clients >= 1,
    "clients",
    "must be an integer >= 1",
    spec.clients,
  );
  problems.temperature(spec.temperature);
  if (spec.sharedPrefix !== undefined) problems.sharedPrefix(spec.sharedPrefix);
  if (spec.repeatRatio !== undefined) problems.fraction("repeatRatio", spec.repeatRatio);
  problems.classWeights(spec.sloClassMix);
  problems.throwIfAny("invalid workload");
}
