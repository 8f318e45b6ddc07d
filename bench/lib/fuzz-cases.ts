import { SeededRandom } from "../../src/core/random.js";

/**
 * Hostile HTTP requests for the gateway, generated from a seed: the fuzz test (test/e2e/fuzz.test.ts, 2,000
 * cases) and the fuzz bench (bench/scenarios/fuzz.ts, 20,000) draw from this one generator. Each case is the
 * exact bytes of one HTTP/1.1 request (sent over a raw socket, so invalid UTF-8, odd methods, paths and header
 * values reach the server as written), keep-alive like an SDK's, with a correct Content-Length, except the
 * `malformed-http` cases.
 *
 * What the cases hold: invalid JSON (truncated, garbage, BOM, comments, bare values), wrong types, huge,
 * negative, NaN and infinite numbers, 10,000-level nesting in every field that takes objects, 10,000 messages,
 * lone surrogates (escaped, and as raw UTF-8 bytes), invalid UTF-8, duplicate and `__proto__` keys, long
 * words, odd content types, very long header values, random methods and paths; over every route: the two
 * completion endpoints, models, health, metrics, the admin API and the challenge endpoint.
 */
export interface FuzzCase {
  index: number;
  /** What the case tries, for counts by kind and for reading a failure. */
  kind: string;
  method: string;
  /** The request target as sent. */
  path: string;
  /** The whole request: request line, headers, body. */
  bytes: Buffer;
  /** Of which body. */
  bodyBytes: number;
  /**
   * True when the request is answered before the app sees it, with no JSON body: by Node's HTTP parser (not
   * valid HTTP/1.1, a method it does not know, a header block past 16 KiB) or by @hono/node-server (a request
   * target that is not a path, such as `*`).
   */
  beforeApp: boolean;
  /** True when the request asked for HTML (the guard then answers a challenge with its HTML page). */
  acceptsHtml: boolean;
}

/** What bench/configs/fuzz.yaml serves: its API key (stored there as a SHA-256), model and replica. */
export const FUZZ_CONFIG_TARGET: FuzzTarget = {
  apiKey: "bench-key-fuzz",
  model: "bench-model",
  replicaIds: ["zero/0"],
};

export interface FuzzTarget {
  /** A valid API key, so most completion requests get past the guard to the body checks. */
  apiKey: string;
  model: string;
  /** Replica ids of the admin API. Fault bodies are never valid ones other than mode "none". */
  replicaIds: readonly string[];
}

const ROUTES = [
  ["POST", "/v1/chat/completions", 40],
  ["POST", "/v1/completions", 15],
  ["POST", "/v1/challenge/verify", 8],
  ["POST", "/admin/replicas/{id}/faults", 6],
  ["GET", "/admin/replicas", 2],
  ["GET", "/v1/models", 3],
  ["GET", "/v1/models/{model}", 3],
  ["GET", "/healthz", 2],
  ["GET", "/readyz", 1],
  ["GET", "/metrics", 1],
] as const;

const METHODS = [
  "GET",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "HEAD",
  "FOO",
  "M-SEARCH",
  "post",
  "PROPFIND",
];

/** Methods Node's HTTP parser (llhttp) accepts; others it refuses with a bare 400. */
const KNOWN_METHODS = new Set([
  "GET",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "HEAD",
  "M-SEARCH",
  "PROPFIND",
]);

const ODD_PATHS = [
  "/",
  "/v1",
  "/v1/",
  "/v1/chat/completions/",
  "//v1//chat//completions",
  "/v1/chat/completions?stream=true&x=%zz",
  "/v1/models/%00",
  "/v1/models/%F0%9F%98%80",
  "/v1/models/..%2f..%2fetc%2fpasswd",
  "/v1/../admin/replicas",
  "/admin/replicas/%2e%2e/faults",
  "/admin/replicas//faults",
  "/admin/replicas/a/b/c/faults",
  "/v1/embeddings",
  "/v1/chat/completions%20",
  "/V1/CHAT/COMPLETIONS",
  "/healthz/../metrics",
  "*",
];

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=latin1",
  "text/plain",
  "multipart/form-data; boundary=x",
  "application/x-www-form-urlencoded",
  "application/json, text/html",
  "",
  "ä/ö",
];

/** Raw JSON texts that JSON.stringify cannot produce: placed into a body through a marker. */
const RAW_NUMBERS = [
  "NaN",
  "Infinity",
  "-Infinity",
  "1e999",
  "-1e999",
  "00",
  "1.",
  ".5",
  "0x10",
  "+1",
  "-",
  "1e",
];

const NUMBERS = [
  0,
  -0,
  -1,
  1,
  0.5,
  2,
  3,
  1e308,
  -1e308,
  2 ** 53 + 2,
  2 ** 31,
  -(2 ** 31),
  1e-320,
  4096,
  131072,
  1e9,
];

const BAD_UTF8 = [
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0x80], // overlong NUL
  [0xed, 0xa0, 0x80], // a surrogate encoded as UTF-8
  [0xe2, 0x82], // truncated 3-byte sequence
  [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
  [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
];

const WORDS = [
  "the",
  "model",
  "server",
  "GPU",
  "token",
  "cache",
  "😀",
  "漢字",
  "naïve",
  "<|endoftext|>",
  "\u202e",
  "\t",
];

export function* fuzzCases(options: {
  seed: number;
  count: number;
  target: FuzzTarget;
}): Generator<FuzzCase> {
  const g = new Gen(options.seed, options.target);
  for (let index = 0; index < options.count; index++) yield g.next(index);
}

class Gen {
  readonly #r: SeededRandom;
  readonly #target: FuzzTarget;
  #raw: string[] = [];

  constructor(seed: number, target: FuzzTarget) {
    this.#r = new SeededRandom(seed);
    this.#target = target;
  }

  next(index: number): FuzzCase {
    this.#raw = [];
    const roll = this.#r.next();
    if (roll < 0.02) return this.#malformed(index);
    const [routeMethod, template] = this.#weightedRoute();
    let path = template
      .replace(
        "{id}",
        this.#chance(0.7) ? this.#pick(this.#target.replicaIds) : percentEncode(this.#string(0)),
      )
      .replace("{model}", this.#chance(0.5) ? this.#target.model : percentEncode(this.#string(0)));
    let method: string = routeMethod;
    let kind = routeMethod === "POST" ? `${template} body` : `${template}`;
    if (roll < 0.1) {
      method = this.#pick(METHODS);
      kind = "odd method";
    } else if (roll < 0.16) {
      path = this.#pick(ODD_PATHS);
      method = this.#pick(["GET", "POST"]);
      kind = "odd path";
    }
    const headers: [string, string][] = [];
    let acceptsHtml = false;
    const completion = path.startsWith("/v1/chat") || path.startsWith("/v1/completions");
    if (completion && this.#chance(0.85)) headers.push(["Authorization", `Bearer ${this.#target.apiKey}`]);
    let body: Buffer = Buffer.alloc(0);
    if (method.toUpperCase() === "POST" || this.#chance(0.05)) {
      const built = this.#body(template);
      body = built.bytes;
      kind = built.kind;
      headers.push(["Content-Type", this.#chance(0.8) ? "application/json" : this.#pick(CONTENT_TYPES)]);
    }
    if (this.#chance(0.25)) {
      const header = this.#oddHeader();
      headers.push(header);
      if (header[0] === "Accept" && header[1].includes("text/html")) acceptsHtml = true;
      if (this.#chance(0.3) && kind !== "odd method" && kind !== "odd path") kind = `header ${header[0]}`;
    }
    return this.#request({ index, kind, method, path, headers, body, acceptsHtml });
  }

  #request(c: {
    index: number;
    kind: string;
    method: string;
    path: string;
    headers: [string, string][];
    body: Buffer;
    acceptsHtml: boolean;
  }): FuzzCase {
    const lines = [`${c.method} ${c.path} HTTP/1.1`, "Host: 127.0.0.1"];
    for (const [name, value] of c.headers) lines.push(`${name}: ${value}`);
    lines.push(`Content-Length: ${c.body.length}`, "", "");
    const head = Buffer.from(lines.join("\r\n"), "latin1");
    const bytes = Buffer.concat([head, c.body]);
    const beforeApp = !KNOWN_METHODS.has(c.method) || head.length > 16 * 1024 || !c.path.startsWith("/");
    return { ...c, bytes, bodyBytes: c.body.length, beforeApp };
  }

  /** Requests Node's parser refuses: bad header bytes, conflicting framing, oversized header blocks. */
  #malformed(index: number): FuzzCase {
    const heads = [
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: abc\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Bad\u0001Name: 1\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Bad: a\u0000b\r\n\r\n",
      `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Huge: ${"a".repeat(20_000)}\r\n\r\n`,
      "GET /v1/models HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n",
      "G E T /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    ];
    const text = this.#pick(heads);
    return {
      index,
      kind: "malformed-http",
      method: "?",
      path: "?",
      bytes: Buffer.from(text, "latin1"),
      bodyBytes: 0,
      beforeApp: true,
      acceptsHtml: false,
    };
  }

  #weightedRoute(): readonly [string, string] {
    const total = ROUTES.reduce((sum, r) => sum + r[2], 0);
    let at = this.#r.next() * total;
    for (const route of ROUTES) {
      at -= route[2];
      if (at < 0) return [route[0], route[1]];
    }
    return [ROUTES[0][0], ROUTES[0][1]];
  }

  #oddHeader(): [string, string] {
    // Up to 20,000 characters: most fit Node's 16 KiB header block, some do not (431 from Node's parser).
    const long = (unit: string) => unit.repeat(Math.ceil(this.#r.int(1000, 20_000) / unit.length));
    const choices: (() => [string, string])[] = [
      () => ["X-Request-Id", this.#chance(0.5) ? long("a") : "bad id with spaces / and ünïcode"],
      () => ["Cache-Control", this.#chance(0.5) ? long("no-cache,") : 'max-age="0", no-store=1, ===,'],
      () => [
        "Authorization",
        this.#pick(["Bearer", "Bearer ", "Basic Zm9vOmJhcg==", `Bearer ${long("k")}`, "bearer  x  y"]),
      ],
      () => [
        "Cookie",
        this.#pick(["tollgate_pass=", "tollgate_pass=%zz; a", `tollgate_pass=${long("x")}`, ";;;=;"]),
      ],
      () => ["X-Tollgate-Pass", this.#pick(["", ".", "a.b.c", long("A")])],
      () => ["X-Forwarded-For", this.#pick(["1.2.3.4, ::1, garbage", long("1.1.1.1,"), "999.999.999.999"])],
      () => ["X-Tollgate-Slo-Class", this.#pick(["batch", "interactive", "nope", "", long("z")])],
      () => [
        "Accept",
        this.#pick(["text/html", "text/html,application/xhtml+xml", "*/*", "application/json"]),
      ],
      () => ["Pragma", "no-cache"],
      () => [`X-${long("h").slice(0, 200)}`, long("v")],
    ];
    return this.#pick(choices)();
  }

  /** A request body for the route: mostly a valid body with one or more hostile changes. */
  #body(template: string): { bytes: Buffer; kind: string } {
    const r = this.#r.next();
    if (r < 0.08) return { bytes: Buffer.from(this.#pick(BROKEN_JSON), "utf8"), kind: "invalid JSON" };
    let value = this.#validBody(template);
    let kind = "valid";
    if (r < 0.2) {
      value = this.#deep(value);
      kind = "deep nesting";
    } else if (r < 0.24 && template === "/v1/chat/completions") {
      const count = this.#pick([2049, 10_000]);
      value["messages"] = Array.from({ length: count }, (_, i) => ({
        role: i % 2 ? "assistant" : "user",
        content: this.#chance(0.5) ? "x" : "",
      }));
      kind = `${count} messages`;
    } else if (r < 0.26) {
      value[this.#pick(["messages", "prompt"])] = this.#longWordValue(template);
      kind = "long word";
    } else if (r < 0.9) {
      const changes = this.#r.int(1, 3);
      for (let i = 0; i < changes; i++) this.#mutate(value);
      kind = "wrong values";
    }
    let text = JSON.stringify(value);
    text = this.#placeRaw(text);
    if (this.#chance(0.1)) {
      text = this.#textMutation(text);
      kind = "text mutation";
    }
    let bytes: Buffer = Buffer.from(text, "utf8");
    if (this.#chance(0.06)) {
      bytes = this.#badUtf8(bytes);
      kind = "invalid UTF-8";
    }
    return { bytes, kind };
  }

  #validBody(template: string): Record<string, unknown> {
    const model = this.#chance(0.9) ? this.#target.model : this.#string(0);
    if (template === "/v1/completions")
      return { model, prompt: this.#words(), max_tokens: this.#r.int(1, 4) };
    if (template === "/v1/challenge/verify") return { id: this.#string(0), nonce: this.#r.int(0, 1e6) };
    if (template.startsWith("/admin")) return { mode: "none" };
    const body: Record<string, unknown> = {
      model,
      messages: [{ role: "user", content: this.#words() }],
      max_tokens: this.#r.int(1, 4),
    };
    if (this.#chance(0.3)) body["stream"] = true;
    if (this.#chance(0.3)) body["temperature"] = 0;
    return body;
  }

  /** One hostile change somewhere in the body: a field's value, a message, a new or duplicated key. */
  #mutate(body: Record<string, unknown>): void {
    const fields = [
      "model",
      "messages",
      "prompt",
      "max_tokens",
      "max_completion_tokens",
      "temperature",
      "top_p",
      "n",
      "stop",
      "seed",
      "stream",
      "stream_options",
      "user",
      "logit_bias",
      "tools",
      "tool_choice",
      "response_format",
      "mode",
      "rate",
      "factor",
      "id",
      "nonce",
      "solve_ms",
      "__proto__",
      "constructor",
      "prototype",
      "x_unknown",
    ];
    const field = this.#pick(fields);
    const messages = body["messages"];
    if (Array.isArray(messages) && this.#chance(0.3)) {
      const message = { role: "user", content: "hi" } as Record<string, unknown>;
      message[this.#pick(["role", "content", "name", "tool_calls", "__proto__", "tool_call_id"])] =
        this.#hostile();
      messages.push(message);
      return;
    }
    if (field === "__proto__") {
      // JSON.stringify skips an own __proto__ made by assignment: defined, it is written as a key.
      Object.defineProperty(body, "__proto__", {
        value: this.#hostile(),
        enumerable: true,
        configurable: true,
        writable: true,
      });
      return;
    }
    body[field] = this.#hostile();
  }

  /** A value of a random shape: numbers (raw NaN and friends too), strings, arrays, objects. */
  #hostile(): unknown {
    const r = this.#r.next();
    if (r < 0.2) return this.#pick(NUMBERS);
    if (r < 0.3) return this.#rawValue(this.#pick(RAW_NUMBERS));
    if (r < 0.5) return this.#string(this.#r.int(0, 2));
    if (r < 0.55) return this.#pick([null, true, false]);
    if (r < 0.65) return [];
    if (r < 0.7) return {};
    if (r < 0.8) return Array.from({ length: this.#r.int(1, 5) }, () => this.#string(0));
    if (r < 0.85)
      return [
        { type: "text", text: this.#words() },
        { type: "image_url", image_url: { url: "x" } },
      ];
    if (r < 0.9)
      return { type: "function", function: { name: this.#string(0), parameters: { type: "object" } } };
    if (r < 0.95)
      return Object.fromEntries(
        Array.from({ length: this.#r.int(1, 2000) }, (_, i) => [String(i), (i % 200) - 100]),
      );
    return [{ role: "user", content: this.#string(1) }];
  }

  #string(size: number): string {
    switch (this.#r.int(0, 7)) {
      case 0:
        return "";
      case 1:
        return "\ud800lone \udc00 surrogates \ud83d";
      case 2:
        return "\u0000\u0001\u001f\u007f";
      case 3:
        return this.#words();
      case 4:
        return "__proto__";
      case 5:
        return "x".repeat(size === 0 ? this.#r.int(1, 64) : this.#r.int(100, 5000 * size));
      case 6:
        return "😀".repeat(this.#r.int(1, 300));
      default:
        return this.#pick(WORDS);
    }
  }

  #words(): string {
    return Array.from({ length: this.#r.int(1, 12) }, () => this.#pick(WORDS)).join(" ");
  }

  #longWordValue(template: string): unknown {
    const size = this.#chance(0.1) ? 1_000_000 : this.#r.int(1_000, 100_000);
    const word = this.#pick(["d", "😀", "漢", "!", " ", "ab"]).repeat(size).slice(0, size);
    return template === "/v1/completions" ? word : [{ role: "user", content: word }];
  }

  /** 10,000 levels of arrays or objects in one field (or the whole body). */
  #deep(body: Record<string, unknown>): Record<string, unknown> {
    const levels = this.#pick([65, 1000, 10_000]);
    const marker = this.#rawValue(`${"[".repeat(levels)}1${"]".repeat(levels)}`);
    const place = this.#pick([
      "tools",
      "logit_bias",
      "response_format",
      "tool_calls",
      "x_unknown",
      "body",
      "content",
    ]);
    if (place === "tool_calls" || place === "content") {
      const messages = Array.isArray(body["messages"]) ? body["messages"] : [];
      messages.push({ role: "assistant", [place]: marker });
      body["messages"] = messages;
    } else if (place === "body") return { nested: marker };
    else body[place] = place === "logit_bias" ? { "50256": marker } : marker;
    return body;
  }

  /** Stands for raw JSON text that is put in after JSON.stringify. */
  #rawValue(text: string): string {
    this.#raw.push(text);
    return `@@raw${this.#raw.length - 1}@@`;
  }

  #placeRaw(text: string): string {
    return text.replace(/"@@raw(\d+)@@"/g, (_, i: string) => this.#raw[Number(i)] ?? "null");
  }

  #textMutation(text: string): string {
    const at = this.#r.int(0, text.length);
    switch (this.#r.int(0, 5)) {
      case 0:
        return text.slice(0, at);
      case 1:
        return `${text.slice(0, at)}${this.#pick(["{", "}", "[", "]", '"', ",", ":", "\\", "\u0000"])}${text.slice(at)}`;
      case 2:
        return `\ufeff${text}`;
      case 3:
        return text.replace(
          "{",
          `{"model":"a","model":${JSON.stringify(this.#target.model)},"__proto__":{"max_tokens":"x"},`,
        );
      case 4:
        return `${text} // trailing`;
      default:
        return `${text}${text}`;
    }
  }

  /** Puts invalid UTF-8 bytes inside the body (usually inside a string, sometimes in the structure). */
  #badUtf8(bytes: Buffer): Buffer {
    const quote = bytes.indexOf(0x22, this.#r.int(0, Math.max(0, bytes.length - 1)));
    const at = quote >= 0 && this.#chance(0.8) ? quote + 1 : this.#r.int(0, bytes.length);
    return Buffer.concat([bytes.subarray(0, at), Buffer.from(this.#pick(BAD_UTF8)), bytes.subarray(at)]);
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#r.next() * items.length)] as T;
  }

  #chance(p: number): boolean {
    return this.#r.next() < p;
  }
}

/** Percent-encodes the UTF-8 bytes of `text` (a lone surrogate as U+FFFD), as a path segment. */
function percentEncode(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9._~-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

const BROKEN_JSON = [
  "{",
  "}",
  "{not json",
  '{"model": }',
  "null",
  "[]",
  "1",
  '"just a string"',
  "true",
  "{}",
  "   ",
  "\ufeff{}",
  '{"a":1,}',
  "{'model':'x'}",
  '{"model":"x"} garbage',
  "/* comment */ {}",
  '{"model":"\\x41"}',
  '{"model":"\\ud800"}',
  '{"model":"\\u12"}',
  "[".repeat(100_000),
  "{".repeat(50_000),
  '{"a":'.repeat(20_000),
];
