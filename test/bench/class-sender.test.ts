import type { ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { createClassSender } from "../../bench/lib/class-sender.js";
import { ClassTally } from "../../bench/lib/class-tally.js";
import type { WorkloadRequest } from "../../bench/lib/workload.js";
import { fakeRequest, loopbackServers } from "../helpers/loopback.js";

function request(sloClass?: string): WorkloadRequest {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (sloClass !== undefined) headers["x-tollgate-slo-class"] = sloClass;
  return fakeRequest({ headers, maxTokens: 2, ...(sloClass !== undefined && { sloClass }) });
}

function stream(verdict: Record<string, unknown>): string {
  const data = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
  return (
    data({ choices: [{ index: 0, delta: { content: "a" } }] }) +
    data({ choices: [{ index: 0, delta: { content: "b" } }] }) +
    data({ choices: [], usage: { completion_tokens: 2 }, tollgate: verdict }) +
    "data: [DONE]\n\n"
  );
}

const listen = loopbackServers();

/** A loopback server answering by the request's class header; returns its origin. */
async function serve(handler: (sloClass: string | undefined, res: ServerResponse) => void): Promise<string> {
  return listen((req, res) => {
    req.resume();
    req.on("end", () => handler(req.headers["x-tollgate-slo-class"] as string | undefined, res));
  });
}

describe("createClassSender", () => {
  it("tallies streams by class from their verdict, and shed answers with their Retry-After", async () => {
    const origin = await serve((sloClass, res) => {
      if (sloClass === "batch") {
        res.writeHead(503, { "content-type": "application/json", "retry-after": "4" });
        res.end('{"error":{"message":"overloaded"}}');
        return;
      }
      // The standard request is judged as interactive: a class the client did not ask for.
      const ranAs = sloClass === "standard" ? "interactive" : (sloClass ?? "interactive");
      // Only the request that named its class gets the header back: the counts must tell them apart.
      const headers: Record<string, string> = { "content-type": "text/event-stream" };
      if (sloClass === "interactive") headers["x-tollgate-slo-class"] = "interactive";
      res.writeHead(200, headers);
      res.end(stream({ slo_class: ranAs, slo_met: sloClass === undefined }));
    });
    const tally = new ClassTally();
    const sender = createClassSender({ baseUrl: origin, tally, defaultClass: "interactive" });
    let firstTokens = 0;
    const onFirst = () => firstTokens++;
    expect(await sender.send(request(), onFirst)).toEqual({ status: 200, completionTokens: 2 });
    expect(await sender.send(request("interactive"), onFirst)).toEqual({ status: 200, completionTokens: 2 });
    expect(await sender.send(request("batch"), onFirst)).toEqual({ status: 503, completionTokens: 0 });
    expect(await sender.send(request("standard"), onFirst)).toMatchObject({
      status: 200,
      error: "asked for class standard, ran as interactive",
    });
    await sender.close();
    expect(firstTokens).toBe(3);
    expect(sender.streams).toBe(3);
    expect(sender.streamsWithoutClassHeader).toBe(2);
    const summary = tally.summary(1000);
    expect(summary["interactive"]).toMatchObject({ sent: 2, admitted: 2, met: 1, attainment: 0.5 });
    expect(summary["interactive"]!.ttft.count).toBe(2);
    expect(summary["batch"]).toMatchObject({ sent: 1, shed: 1, shedRate: 1, retryAfter: { "4": 1 } });
    expect(summary["standard"]).toMatchObject({ sent: 1, admitted: 0, errors: 1 });
  });

  it("counts a transport failure as an error, but leaves a request aborted by the run unfinished", async () => {
    const tally = new ClassTally();
    const closed = createClassSender({ baseUrl: "http://127.0.0.1:1", tally, defaultClass: "standard" });
    const failed = await closed.send(request(), () => {});
    expect(failed.status).toBe(0);

    const origin = await serve(() => {}); // never answers
    const sender = createClassSender({ baseUrl: origin, tally, defaultClass: "standard" });
    const abort = new AbortController();
    const pending = sender.send(request("batch"), () => {}, abort.signal);
    abort.abort(new Error("run ended"));
    expect((await pending).error).toEqual(expect.any(String));
    await Promise.all([closed.close(), sender.close()]);
    expect(tally.summary(1000)).toMatchObject({
      standard: { sent: 1, errors: 1, unfinished: 0 },
      batch: { sent: 1, errors: 0, unfinished: 1 },
    });
  });
});
