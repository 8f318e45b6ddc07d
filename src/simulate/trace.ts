/**
 * Workload traces for `tollgate simulate`: JSONL, one request per line, in arrival order.
 *
 *   {"t": 0.512, "prompt_tokens": 1020, "output_tokens": 129, "prefix_id": "sys-a", "prefix_tokens": 600,
 *    "class": "interactive", "client": "tenant-7"}
 *
 * - `t` (number >= 0, required): arrival, seconds from the start of the run. Non-decreasing from line to line.
 * - `prompt_tokens` (integer 1..1048576, required): tokens in the user message (the chat template's framing
 *   comes on top). The text is that many one-token words (see words.ts).
 * - `output_tokens` (integer 1..1048576, required): sent as max_tokens; the simulated engines generate exactly
 *   this many.
 * - `prefix_id` (non-empty string) and `prefix_tokens` (integer 1..prompt_tokens), together or not at all:
 *   requests with the same prefix id begin with the same `prefix_tokens` tokens (a shared system prompt or
 *   document), so the engines' prefix caches see the sharing. The prefix text depends on the id alone; with
 *   different `prefix_tokens` for one id, the shorter prefix is the start of the longer.
 *   An id `#N` instead names an earlier request: N is its 0-based index among the trace's requests (blank
 *   lines not counted), and the line begins with the first `prefix_tokens` tokens of that request's prompt.
 *   With `prefix_tokens` equal to the length of both prompts, the line is an exact repeat of request N (this
 *   is how `--trace-out` writes `--repeat-ratio`'s repeats). Request N must still be held: the replay keeps
 *   the prompts of the last 1,000 requests that are not exact repeats, within 2^23 tokens (RecentPrompts in
 *   recent-prompts.ts), the pool the synthetic workload draws its repeats from. Other ids starting with `#`
 *   are an error.
 * - `class` (non-empty string): SLO class name, as x-tollgate-slo-class would send it (it can only lower the
 *   class below the client's own).
 * - `client` (non-empty string): who sends it; each distinct client gets its own 10.0.0.0/8 address. A client
 *   written as an integer below 2^24 ("0", "17") is that client number, so traces written by `--trace-out`
 *   replay exactly. Lines without a client are spread round-robin over `--clients` addresses.
 *
 * Blank lines are skipped; any other field, or a line that breaks a rule, stops the run with its line number.
 * The words of the non-shared part of each prompt come from `--seed`, drawn as the synthetic workload draws
 * them, so `simulate --seed S --trace-out f` then `simulate --seed S --workload f` sends the same requests.
 */
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { z } from "zod";
import { hashString, SeededRandom } from "../core/random.js";
import { REPEAT_POOL_SIZE, RecentPrompts } from "./recent-prompts.js";
import { idsPrompt, NamedPrefixes, type WordPrompt, wordPrompt } from "./sampling.js";
import type { Arrival } from "./workload.js";

/** Past any served context window; bounds what one line can make the reader allocate. */
export const MAX_TRACE_TOKENS = 2 ** 20;
/** The runner gives client n the address 10.(n>>16).(n>>8).n, so there are 2^24 of them. */
const CLIENT_SPACE = 2 ** 24;

const tokens = z.int().min(1).max(MAX_TRACE_TOKENS);
const TraceLine = z
  .strictObject({
    t: z.number().min(0),
    prompt_tokens: tokens,
    output_tokens: tokens,
    prefix_id: z.string().min(1).optional(),
    prefix_tokens: tokens.optional(),
    class: z.string().min(1).optional(),
    client: z.string().min(1).optional(),
  })
  .superRefine((line, ctx) => {
    if ((line.prefix_id === undefined) !== (line.prefix_tokens === undefined))
      ctx.addIssue({
        code: "custom",
        path: [line.prefix_id === undefined ? "prefix_id" : "prefix_tokens"],
        message: "prefix_id and prefix_tokens go together",
      });
    if (line.prefix_tokens !== undefined && line.prefix_tokens > line.prompt_tokens)
      ctx.addIssue({ code: "custom", path: ["prefix_tokens"], message: "must be <= prompt_tokens" });
  });
export type TraceLine = z.infer<typeof TraceLine>;

/** A trace line that cannot be replayed; `line` is 1-based. */
export class TraceError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = "TraceError";
  }
}

/**
 * Whether `error` is the workload's fault rather than a bug: a bad trace line, or a trace file that is missing,
 * unreadable or a directory. The commands report these as usage errors (exit 2).
 */
export function isTraceFileError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return error instanceof TraceError || code === "ENOENT" || code === "EACCES" || code === "EISDIR";
}

export interface TraceOptions {
  file: string;
  /** Seeds the words of the non-shared part of each prompt, as `arrivals(spec, seed)` does. */
  seed: number;
  /** Addresses that lines without a `client` are spread over (default 1). */
  clients?: number;
}

/**
 * The arrivals of a trace file, streamed line by line (the file is never held in memory). Throws a
 * {@link TraceError} at the first bad line, after yielding the lines before it.
 */
export async function* traceArrivals(options: TraceOptions): AsyncGenerator<Arrival> {
  const { file } = options;
  const clients = options.clients ?? 1;
  // Same stream and order of draws as arrivals(): one draw per word of each prompt.
  const text = new SeededRandom(hashString("text", options.seed >>> 0));
  const numbers = new ClientNumbers();
  const prefixes = new NamedPrefixes();
  const recent = new RecentPrompts<undefined>();
  const stream = createReadStream(file, { encoding: "utf8" });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  let index = 0;
  let previousT = 0;
  try {
    for await (const raw of lines) {
      lineNumber++;
      if (raw.trim() === "") continue;
      const fail = (detail: string) => new TraceError(file, lineNumber, detail);
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch (error) {
        throw fail(`not JSON: ${(error as Error).message}`);
      }
      const parsed = TraceLine.safeParse(json);
      if (!parsed.success) throw fail(parsed.error.issues.map((i) => describe(i, json)).join("; "));
      const line = parsed.data;
      if (line.t < previousT) throw fail(`t must be >= the previous line's t (${previousT}), got ${line.t}`);
      previousT = line.t;
      const shared = line.prefix_tokens ?? 0;
      const { words, repeat } = prefixWords({ line, index, prefixes, recent, fail });
      const own = wordPrompt(text, line.prompt_tokens - shared);
      const arrival: Arrival = {
        index,
        atMs: line.t * 1000,
        prompt: words === undefined ? own.text : words.text + own.text,
        promptIds: words === undefined ? own.ids : words.ids.concat(own.ids),
        promptTokens: line.prompt_tokens,
        outputTokens: line.output_tokens,
        client: line.client === undefined ? index % clients : numbers.of(line.client, fail),
      };
      if (line.class !== undefined) arrival.sloClass = line.class;
      if (line.prefix_id !== undefined) arrival.prefix = { id: line.prefix_id, tokens: shared };
      if (!repeat) recent.add(index, arrival.promptIds, undefined);
      index++;
      yield arrival;
    }
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** Writes `arrivals` as a trace (streamed, with backpressure) that {@link traceArrivals} replays exactly. */
export async function writeTrace(options: { arrivals: Iterable<Arrival>; file: string }): Promise<void> {
  const out = createWriteStream(options.file, { encoding: "utf8" });
  const closed = once(out, "close");
  try {
    for (const arrival of options.arrivals) {
      if (!out.write(`${JSON.stringify(traceLine(arrival))}\n`)) await once(out, "drain");
    }
  } finally {
    out.end();
  }
  await closed;
}

/** The trace line of an arrival (prompt text is not kept: the replay regenerates it from the seed). */
export function traceLine(arrival: Arrival): TraceLine {
  const line: TraceLine = {
    // Both generators compute atMs as seconds * 1000, and for such an atMs, (atMs / 1000) * 1000 === atMs (the
    // round-trip test checks it; it fails for about 2% of arbitrary doubles), so the replay's atMs is exact.
    t: arrival.atMs / 1000,
    prompt_tokens: arrival.promptTokens,
    output_tokens: arrival.outputTokens,
  };
  if (arrival.prefix !== undefined) {
    line.prefix_id = arrival.prefix.id;
    line.prefix_tokens = arrival.prefix.tokens;
  }
  if (arrival.sloClass !== undefined) line.class = arrival.sloClass;
  line.client = String(arrival.client);
  return line;
}

/**
 * The words a line's prefix gives its prompt (undefined without one), and whether the line is an exact repeat
 * of an earlier request (a `#N` prefix covering both prompts whole), which the pool does not hold twice.
 */
function prefixWords(input: {
  line: TraceLine;
  index: number;
  prefixes: NamedPrefixes;
  recent: RecentPrompts<undefined>;
  fail: (detail: string) => Error;
}): { words: WordPrompt | undefined; repeat: boolean } {
  const { line, fail } = input;
  const id = line.prefix_id;
  const tokens = line.prefix_tokens ?? 0;
  if (id === undefined) return { words: undefined, repeat: false };
  if (!id.startsWith("#")) return { words: input.prefixes.of(id, tokens), repeat: false };
  const got = `got ${JSON.stringify(id)}`;
  if (!/^#(0|[1-9]\d{0,14})$/.test(id))
    throw fail(`prefix_id: an id starting with # must be #N, N an earlier request's 0-based index, ${got}`);
  const n = Number(id.slice(1));
  if (n >= input.index)
    throw fail(`prefix_id: #N must name an earlier request (this is request ${input.index}), ${got}`);
  const earlier = input.recent.get(n);
  if (earlier === undefined) {
    throw fail(
      `prefix_id: request ${n} is not held (the replay keeps the last ${REPEAT_POOL_SIZE} requests ` +
        `that are not exact repeats, see recent-prompts.ts), ${got}`,
    );
  }
  if (tokens > earlier.ids.length)
    throw fail(`prefix_tokens: must be <= request ${n}'s ${earlier.ids.length} prompt tokens, got ${tokens}`);
  const repeat = tokens === line.prompt_tokens && tokens === earlier.ids.length;
  return { words: idsPrompt(earlier.ids.subarray(0, tokens)), repeat };
}

/**
 * Client names to client numbers, one to one. A name that is a client number is kept; any other is hashed
 * into the space, probing past numbers already taken. Holds one entry per distinct client.
 */
class ClientNumbers {
  readonly #byName = new Map<string, number>();
  readonly #taken = new Set<number>();

  of(name: string, fail: (detail: string) => Error): number {
    const known = this.#byName.get(name);
    if (known !== undefined) return known;
    if (this.#taken.size >= CLIENT_SPACE) throw fail(`client: more than ${CLIENT_SPACE} distinct clients`);
    let n = /^(0|[1-9]\d{0,7})$/.test(name) && Number(name) < CLIENT_SPACE ? Number(name) : undefined;
    n ??= hashString(name) % CLIENT_SPACE;
    while (this.#taken.has(n)) n = (n + 1) % CLIENT_SPACE;
    this.#byName.set(name, n);
    this.#taken.add(n);
    return n;
  }
}

function describe(issue: z.core.$ZodIssue, json: unknown): string {
  const field = issue.path.join(".") || "line";
  let value: unknown = json;
  for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  if (issue.code === "unrecognized_keys") return `unknown field(s) ${issue.keys.join(", ")}`;
  return `${field}: ${issue.message}${value === undefined ? "" : `, got ${JSON.stringify(value)}`}`;
}
