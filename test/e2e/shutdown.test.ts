import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";

/**
 * SIGTERM in proxy mode, through the compiled CLI (`npm test` builds first): with streams in flight the gateway
 * drains for server.shutdownGraceMs, closes its upstream pool and health checks, and the process exits 0
 * because nothing is left on its event loop (not because the backstop in main.ts forced it: that one exits 1).
 */

const MAIN = "dist/main.js";
const GRACE_MS = 1000;
/** Start-up of node, config loading and the close after the grace period, on a loaded 2-core machine. */
const MARGIN_MS = 2500;

const chunk = (content: string) =>
  `data: ${JSON.stringify({
    id: "chatcmpl-up",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta: { content }, finish_reason: null }],
  })}\n\n`;

const finished = `${chunk("done")}data: ${JSON.stringify({
  id: "chatcmpl-up",
  object: "chat.completion.chunk",
  created: 1,
  model: "m",
  choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
})}\n\ndata: [DONE]\n\n`;

/**
 * An upstream that answers a prompt of "short" at once, and any other never: a token every 50 ms until the
 * client goes.
 */
async function endlessUpstream(): Promise<{ server: Server; url: string; open: () => number }> {
  let open = 0;
  const server = createServer((req, res) => {
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"object":"list","data":[]}');
      return;
    }
    let body = "";
    req.on("data", (data: Buffer) => {
      body += data.toString();
    });
    req.once("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      if (body.includes('"short"')) {
        res.end(finished);
        return;
      }
      open++;
      res.write(chunk("a"));
      const timer = setInterval(() => res.write(chunk(" b")), 50);
      res.once("close", () => {
        open--;
        clearInterval(timer);
      });
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, open: () => open };
}

let child: ChildProcess | undefined;
let upstream: Server | undefined;
afterEach(() => {
  child?.kill("SIGKILL");
  child = undefined;
  upstream?.closeAllConnections();
  upstream?.close();
  upstream = undefined;
});

describe("shutdown in proxy mode", () => {
  it("exits 0 within the grace period on SIGTERM with streams in flight", async () => {
    const up = await endlessUpstream();
    upstream = up.server;
    const file = join(mkdtempSync(join(tmpdir(), "tollgate-shutdown-")), "proxy.yaml");
    writeFileSync(
      file,
      [
        "guard: { enabled: false }",
        `server: { host: 127.0.0.1, shutdownGraceMs: ${GRACE_MS} }`,
        "log: { level: info }",
        "models:",
        "  - id: m",
        "    profile: Llama-3.1-8B",
        "deployments:",
        "  - name: upstream",
        "    model: m",
        `    backend: { type: openai-http, url: "${up.url}" }`,
        "",
      ].join("\n"),
    );
    const proc = spawn(process.execPath, [MAIN, "--config", file, "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    const logs: string[] = [];
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: proc.stdout! }).on("line", (line) => {
        logs.push(line);
        const record = JSON.parse(line) as { port?: number };
        if (record.port !== undefined) resolve(record.port);
      });
      void exited.then((code) => reject(new Error(`exited early with ${code}`)));
    });

    const post = (stream: boolean, content = "long") =>
      fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content }], stream }),
      });
    // Finished requests first, streamed and not: what they held must be gone too (their total timeouts were
    // once left running, and kept the process alive for ten minutes).
    for (const stream of [true, false, true, false]) {
      const res = await post(stream, "short");
      expect(res.status).toBe(200);
      await res.text();
    }
    // Three SSE streams with tokens flowing, and one JSON request waiting for an answer that never comes.
    const streams = await Promise.all([post(true), post(true), post(true)]);
    const readers = streams.map((res) => res.body!.getReader());
    for (const reader of readers) expect((await reader.read()).done).toBe(false);
    const pendingJson = post(false).catch((error: unknown) => error);
    while (up.open() < 4) await new Promise((resolve) => setTimeout(resolve, 10));

    const signalled = performance.now();
    proc.kill("SIGTERM");
    const code = await Promise.race([
      exited,
      new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), GRACE_MS + MARGIN_MS)),
    ]);
    const elapsed = performance.now() - signalled;
    await Promise.all(readers.map((reader) => reader.cancel().catch(() => undefined)));
    await pendingJson;

    expect(code).toBe(0);
    // It drained: the streams were given the grace period (they never end by themselves).
    expect(elapsed).toBeGreaterThanOrEqual(GRACE_MS * 0.9);
    expect(logs.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
    expect(logs.some((line) => line.includes("still running after shutdown"))).toBe(false);
    // The gateway's upstream requests were cut off with it.
    while (up.open() > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  });
});
