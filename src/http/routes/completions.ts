import type { Hono } from "hono";
import { answerVariant, completionRequestSchema, samplingParams, validateBody } from "../../api/requests.js";
import { completionChunk, type ResponseMeta, textCompletion, usageChunk } from "../../api/responses.js";
import { parseCacheControl } from "../../cache/cache-control.js";
import { GatewayError } from "../../core/errors.js";
import type { GenerationRequest } from "../../core/types.js";
import { readJson } from "../body.js";
import type { AppEnv, RouteDeps } from "../env.js";
import { cacheHeaders, collect, servedHeaders, sloHeaders, streamResponse } from "../generation-response.js";
import { clientAbort, requestHeader } from "../node-io.js";
import { admitPrompt, classify, onGenerationDone } from "../request-context.js";

export function completionRoutes(
  app: Hono<AppEnv>,
  { gateway, pipeline, clock, bodyLimitBytes, maxJsonDepth, exposeRoutingHeaders }: RouteDeps,
): void {
  app.post("/v1/completions", async (c) => {
    c.set("endpoint", "completions");
    const body = validateBody(completionRequestSchema, await readJson(c, bodyLimitBytes, maxJsonDepth));
    if (body.echo)
      throw new GatewayError("unsupported_parameter", "echo is not supported.", { param: "echo" });
    if (body.suffix)
      throw new GatewayError("unsupported_parameter", "suffix is not supported.", { param: "suffix" });
    const sampling = samplingParams(body);
    const requestId = c.get("requestId");
    const { slo, tenant, tier } = classify(c, pipeline);
    const prompts = typeof body.prompt === "string" ? [body.prompt] : body.prompt;
    // Validate every prompt before starting any generation, so a bad one costs no GPU time.
    const variant = answerVariant(body);
    // One at a time: each tokenization pauses between slices, and a bad prompt stops the rest.
    const requests: GenerationRequest[] = [];
    for (const [i, prompt] of prompts.entries()) {
      requests.push(
        await gateway.prepare({
          kind: "completion",
          requestId: prompts.length === 1 ? requestId : `${requestId}-${i}`,
          model: sampling.model,
          prompt,
          sampling,
          variant,
          sloClass: slo.name,
          tenant,
          tier,
        }),
      );
    }
    await admitPrompt(
      c,
      requests.reduce((sum, r) => sum + r.promptTokens.length, 0),
    );
    const model = requests[0]!.model;
    c.set("model", model);
    c.set("prompt", prompts.join("\n"));
    const abort = clientAbort(c);
    const meta: ResponseMeta = {
      id: `cmpl-${requestId}`,
      created: Math.floor(clock.epochMs() / 1000),
      model,
    };
    const directives = parseCacheControl(requestHeader(c, "cache-control"), requestHeader(c, "pragma"));
    const opened = await Promise.all(
      requests.map((r) =>
        pipeline.open(r, { signal: abort.signal, directives, onDone: onGenerationDone(c, slo, tier) }),
      ),
    );
    const generations = opened.map((o) => o.events);
    const headers = cacheHeaders(opened);

    if (sampling.stream) {
      const options = { includeUsage: sampling.includeUsage };
      return streamResponse(c, {
        generations,
        includeUsage: sampling.includeUsage,
        abort,
        exposeRoutingHeaders,
        headers,
        onServed: (servedBy) => {
          if (servedBy !== undefined) meta.model = servedBy.model;
        },
        format: {
          opening: () => [],
          delta: (index, text) => completionChunk(meta, { index, text, finishReason: null }, options),
          finish: (index, reason) =>
            completionChunk(meta, { index, text: "", finishReason: reason }, options),
          usage: (usage) => usageChunk(meta, "text_completion", usage),
        },
      });
    }
    try {
      const collected = await collect(generations);
      meta.model = collected.choices[0]?.done.servedBy.model ?? meta.model;
      return c.json(textCompletion(meta, collected.choices, collected.usage), 200, {
        ...servedHeaders(collected, exposeRoutingHeaders),
        ...headers,
        ...sloHeaders(collected),
      });
    } catch (error) {
      abort.abort(error);
      throw error;
    }
  });
}
