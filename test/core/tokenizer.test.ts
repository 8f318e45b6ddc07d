import * as cl100k from "gpt-tokenizer/encoding/cl100k_base";
import { describe, expect, it } from "vitest";
import { chunkEnd, MAX_PIECE_BYTES } from "../../src/core/bpe.js";
import { SeededRandom } from "../../src/core/random.js";
import { createCl100kTokenizer } from "../../src/core/tokenizer.js";

const tokenizer = createCl100kTokenizer();

describe("cl100k tokenizer", () => {
  it("counts real BPE tokens, not characters / 4", () => {
    // Reference counts from OpenAI's tokenizer for cl100k_base.
    expect(tokenizer.encode("Hello world").length).toBe(2);
    expect(tokenizer.encode("Tollgate").length).toBeGreaterThan(1);
    expect(tokenizer.encode("").length).toBe(0);
  });

  it("treats special-token markers in user text as plain text", () => {
    const tokens = tokenizer.encode("a <|endoftext|> b");
    expect(tokens).not.toContain(100257);
    expect(tokens.length).toBeGreaterThan(3);
  });

  it("frames chat messages in ChatML and primes the assistant turn", () => {
    const { text, tokens } = tokenizer.encodeChat([{ role: "user", content: "Hello world" }]);
    expect(text).toBe("<|im_start|>user\nHello world<|im_end|>\n<|im_start|>assistant\n");
    // <|im_start|> user \n Hello world <|im_end|> \n <|im_start|> assistant \n
    expect(tokens[0]).toBe(100264);
    expect(tokens).toContain(100265);
    expect(tokens.length).toBe(10);
  });

  it("takes a message's content tokens when the caller has them, framing them the same way", () => {
    const messages = [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: " the model server" },
    ];
    const encoded = tokenizer.encodeChat(messages);
    const given = tokenizer.encodeChat(messages, [undefined, tokenizer.encode(" the model server")]);
    expect(given).toEqual(encoded);
  });

  it("gives identical token prefixes for conversations that share their first messages", () => {
    const system = { role: "system" as const, content: "You are a helpful assistant. ".repeat(20) };
    const a = tokenizer.encodeChat([system, { role: "user", content: "What is a GPU?" }]).tokens;
    const b = tokenizer.encodeChat([system, { role: "user", content: "Explain KV caching." }]).tokens;
    let shared = 0;
    while (a[shared] === b[shared]) shared++;
    expect(shared).toBeGreaterThan(100);
  });
});

describe("cl100k tokenizer on hostile input", () => {
  const reference = (text: string) => cl100k.encode(text, { disallowedSpecial: new Set() });

  it("gives gpt-tokenizer's exact tokens on ordinary text", () => {
    for (const sample of ORDINARY_SAMPLES)
      expect(tokenizer.encode(sample), sample.slice(0, 40)).toEqual(reference(sample));
  });

  it("encodes a pre-token longer than MAX_PIECE_BYTES in chunks: never fewer tokens, about one more per chunk", () => {
    for (const unit of ["d", "漢", "😀", " ", "!", "ab"]) {
      const text = unit.repeat(Math.ceil(1500 / Buffer.byteLength(unit)));
      const exact = reference(text).length;
      const chunks = Math.ceil(Buffer.byteLength(text) / MAX_PIECE_BYTES);
      const got = tokenizer.encode(text);
      expect(got.length, unit).toBeGreaterThanOrEqual(exact);
      expect(got.length, unit).toBeLessThanOrEqual(exact + chunks);
      // Still real tokens that decode to the text.
      expect(cl100k.decode(got)).toBe(text);
    }
  });

  it("merges each chunk of a long pre-token exactly as gpt-tokenizer merges that chunk alone", () => {
    const random = new SeededRandom(3);
    const from = (chars: string) =>
      Array.from({ length: 1500 }, () => chars[Math.floor(random.next() * chars.length)]).join("");
    const shapes = [
      from("abcdefghijklmnopqrstuvwxyz"),
      from("àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿ"),
      from("漢字語文本中日"),
      [...from("😀😁😂🤣😃😄😅")].join(""),
      from(" \t\u00a0\u3000"),
      from("!@#$%^&*()-_=+[]{};:,.<>/?|~"),
    ];
    for (const text of shapes) {
      const bytes = Buffer.from(text, "utf8");
      const expected: number[] = [];
      for (let at = 0; at < bytes.length; ) {
        const end = chunkEnd(bytes, at);
        expected.push(...reference(bytes.subarray(at, end).toString("utf8")));
        at = end;
      }
      expect(tokenizer.encode(text), text.slice(0, 10)).toEqual(expected);
    }
  });

  it("keeps a multi-byte character whole across a chunk boundary", () => {
    // 255 ASCII bytes then a 3-byte character: the first chunk must end before it, not inside it.
    const text = `${"d".repeat(255)}漢${"d".repeat(300)}`;
    expect(cl100k.decode(tokenizer.encode(text))).toBe(text);
  });

  it("gives the same tokens async, pausing between slices only when a slice is used up", async () => {
    let clock = 0;
    let pauses = 0;
    const sliced = createCl100kTokenizer({
      sliceMs: 10,
      // Each reading of the clock is one ms of work: a slice is ten checks.
      now: () => clock++,
      pause: async () => {
        pauses++;
      },
    });
    const long = `${ORDINARY_SAMPLES.join("\n").repeat(20)}${"d".repeat(20_000)}`;
    expect(await sliced.encodeAsync(long)).toEqual(tokenizer.encode(long));
    expect(pauses).toBeGreaterThan(5);
    const messages = [
      { role: "system" as const, content: long },
      { role: "user" as const, content: "Hello world", name: "ada" },
    ];
    expect(await sliced.encodeChatAsync(messages)).toEqual(tokenizer.encodeChat(messages));
    pauses = 0;
    expect(await sliced.encodeAsync("Hello world")).toEqual(tokenizer.encode("Hello world"));
    expect(pauses).toBe(0);
  });
});

/** Ordinary text of several kinds: prose, code, markup, numbers, other scripts, emoji, indentation, rules. */
const ORDINARY_SAMPLES = [
  "The quick brown fox jumps over the lazy dog. It's 3:45 pm; we'll see what they've done, won't we?",
  "Tollgate is an LLM inference-serving gateway: OpenAI-compatible API over simulated GPU engines and real upstreams.",
  'export function add(a: number, b: number): number {\n    return a + b; // sum\n}\n\nconst x = { "key": [1, 2, 3.14159], nested: { deep: null } };',
  "def fib(n):\n\tif n < 2:\n\t\treturn n\n\treturn fib(n - 1) + fib(n - 2)\n\n\n\nprint([fib(i) for i in range(10)])",
  `# Heading\n\n${"-".repeat(80)}\n| col | col |\n|-----|-----|\n| 1 | 2 |\n${"=".repeat(72)}\n> quote\n\n* item\n`,
  `${" ".repeat(120)}indented after a long run of spaces\n${"\t".repeat(12)}and tabs\r\n\r\n`,
  "Prices: $1,234,567.89 or €0.99; phone +1 (555) 123-4567; ISO 2024-06-30T12:34:56Z; 0xDEADBEEF; 1e-9.",
  "Ünïcödé façade naïve café Straße Größe Ελληνικά Русский текст עברית العربية हिन्दी",
  "日本語のテキストです。これは、テストです！中文文本，包括标点符号。한국어 텍스트도 있습니다.",
  "Emoji: 😀👍🏽👨‍👩‍👧‍👦 🇯🇵 ✨ — and a <|endoftext|> marker, <|im_start|> too.",
  "https://example.com/path/to/resource?query=value&other=123#fragment and user@example.org",
  "aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQgZW5jb2RlZCB0ZXh0IHdpdGggc29tZSBsZW5ndGg=",
  "Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz and pneumonoultramicroscopicsilicovolcanoconiosis",
];
