import { describe, expect, it } from "vitest";
import type { Metrics } from "../../src/metrics/metrics.js";
import { pickCanary } from "../../src/pipeline/canary.js";
import { model, request, table } from "./tables.js";

describe("pickCanary", () => {
  const counted: Array<Record<string, string>> = [];
  const metrics = { canaryRequests: { inc: (labels: Record<string, string>) => counted.push(labels) } };
  const draws = (...values: number[]) => ({ next: () => values.shift() ?? 0.99 });

  it("sends the draws below the canary's share to the canary, the rest stay", () => {
    const { table: t } = table([model("main", { canary: [{ model: "next", share: 0.2 }] }), model("next")]);
    const main = t.get("main")!;
    const deps = { table: t, metrics: metrics as unknown as Metrics };
    counted.length = 0;
    const picked = [0.05, 0.19, 0.2, 0.7].map(
      (draw) => pickCanary({ ...deps, random: draws(draw) }, main, request(10, 10)).route.info.id,
    );
    expect(picked).toEqual(["next", "next", "main", "main"]);
    expect(counted).toEqual([
      { model: "main", canary: "next" },
      { model: "main", canary: "next" },
    ]);
  });

  it("keeps the request where it is when the canary's context cannot hold the prompt", () => {
    const { table: t } = table([model("main", { canary: [{ model: "next", share: 1 }] }), model("next")], {
      next: 64,
    });
    counted.length = 0;
    const deps = { table: t, metrics: metrics as unknown as Metrics, random: draws(0.1) };
    const { route, request: kept } = pickCanary(deps, t.get("main")!, request(100, 10));
    expect([route.info.id, kept.model, counted.length]).toEqual(["main", "main", 0]);
  });

  it("draws nothing for a model without canaries", () => {
    const { table: t } = table([model("main")]);
    let drawn = 0;
    const random = { next: () => ++drawn };
    pickCanary({ table: t, metrics: metrics as unknown as Metrics, random }, t.get("main")!, request(1, 1));
    expect(drawn).toBe(0);
  });
});
