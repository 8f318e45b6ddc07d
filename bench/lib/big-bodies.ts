import { SeededRandom } from "../../src/core/random.js";

/**
 * Worst-case request bodies at the 1 MiB body limit, for the big-prompt scenario: one long word of one
 * character, of random characters (no two chunks alike, so no cache helps), runs of whitespace, digits,
 * punctuation, CJK and emoji, English prose for comparison, the most and the tiniest messages, 4,000 tools,
 * 60,000 logit_bias keys and 10,000 levels of nesting. Each text is just under `bytes` of UTF-8.
 */
export interface BigBody {
  name: string;
  /** The prompt text alone (for timing the tokenizer); absent for bodies whose weight is not a prompt. */
  text?: string;
  body: string;
}

export const MiB = 1 << 20;

export function promptShapes(bytes: number, seed = 1): { name: string; text: string }[] {
  const random = new SeededRandom(seed);
  const fill = (choices: readonly string[]) => {
    const out: string[] = [];
    let size = 0;
    for (;;) {
      const piece = choices[Math.floor(random.next() * choices.length)] as string;
      size += Buffer.byteLength(piece);
      if (size > bytes) return out.join("");
      out.push(piece);
    }
  };
  const range = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => String.fromCodePoint(from + i));
  return [
    { name: "English prose", text: fill(["The quick brown fox jumps over the lazy dog. "]) },
    { name: "one letter (d)", text: fill(["d"]) },
    { name: "random letters", text: fill(range(0x61, 0x7b)) },
    { name: "accented letters", text: fill(range(0xc0, 0x17f)) },
    { name: "random CJK", text: fill(range(0x4e00, 0x9fff)) },
    { name: "random emoji", text: fill(range(0x1f600, 0x1f650)) },
    { name: "random punctuation", text: fill([..."!@#$%^&*()-_=+[]{};:,.<>/?|~`"]) },
    { name: "spaces", text: fill([" "]) },
    { name: "random whitespace", text: fill([" ", "\t", "\u00a0", "\u3000"]) },
    { name: "newlines", text: fill(["\n"]) },
    { name: "digits", text: fill(["7"]) },
  ];
}

/** Bodies of about `bytes` for POST /v1/chat/completions (max_tokens 1: the prompt is the work). */
export function bigBodies(model: string, bytes: number): BigBody[] {
  const chat = (messages: unknown, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ model, max_tokens: 1, messages, ...extra });
  // JSON framing around the text: leave room so the whole body stays under the limit.
  const room = bytes - 200;
  const prompts = promptShapes(room).map(({ name, text }) => {
    // Escapes ("\n" -> two bytes) can push a body over; cut the text until it fits.
    let fitted = text;
    while (Buffer.byteLength(chat([{ role: "user", content: fitted }])) > bytes) {
      fitted = fitted.slice(0, Math.floor(fitted.length * 0.9));
    }
    return { name, text: fitted, body: chat([{ role: "user", content: fitted }]) };
  });
  const each = (count: number) => Math.max(1, Math.floor(room / count) - 40);
  const many = (count: number, size: number) =>
    Array.from({ length: count }, (_, i) => ({
      role: i % 2 ? "assistant" : "user",
      content: "x".repeat(size),
    }));
  const english = prompts[0]?.text ?? "";
  return [
    ...prompts,
    // Half of it fits the model's context: the request is served, so the cache keys and the answer run too.
    {
      name: "English prose, half (served)",
      body: chat([{ role: "user", content: english.slice(0, english.length / 2) }]),
    },
    { name: "2,048 messages (the most allowed)", body: chat(many(2048, each(2048))) },
    { name: "10,000 messages", body: chat(many(10_000, each(10_000))) },
    { name: "60,000 empty messages", body: chat(Array.from({ length: 60_000 }, () => ({ role: "user" }))) },
    {
      name: "4,000 tools",
      body: chat([{ role: "user", content: "hi" }], {
        tools: Array.from({ length: Math.floor(bytes / 260) }, (_, i) => ({
          type: "function",
          function: {
            name: `f${i}`,
            parameters: {
              type: "object",
              properties: { a: { type: "string", description: "x".repeat(100) } },
            },
          },
        })),
      }),
    },
    {
      name: "60,000 logit_bias keys",
      body: chat([{ role: "user", content: "hi" }], {
        logit_bias: Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [String(i), 1])),
      }),
    },
    {
      name: "10,000 levels of nesting",
      body: chat([{ role: "user", content: "hi" }]).replace(
        /}$/,
        `,"tools":${"[".repeat(10_000)}${"]".repeat(10_000)}}`,
      ),
    },
  ];
}
