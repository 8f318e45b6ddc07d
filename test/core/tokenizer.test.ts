import { describe, expect, it } from "vitest";
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
