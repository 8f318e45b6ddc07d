import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../src/core/clock.js";
import { SeededRandom } from "../../src/core/random.js";
import { ModelTable } from "../../src/pipeline/model-table.js";
import { model, replica, request, table } from "./tables.js";

describe("ModelTable", () => {
  it("resolves aliases to their model and returns other names as they are", () => {
    const { table: t } = table([model("main", { aliases: ["m", "latest"] })]);
    expect([t.resolve("m"), t.resolve("latest"), t.resolve("main"), t.resolve("nope")]).toEqual([
      "main",
      "main",
      "main",
      "nope",
    ]);
    expect(t.get("m")).toBeUndefined();
  });

  it("serves a model with the smallest context window its replicas hold", () => {
    const { table: t } = table([model("main"), model("small")], { small: 1024 });
    expect(t.get("main")?.info.contextLength).toBe(4096);
    expect(t.get("small")?.info.contextLength).toBe(1024);
  });

  it("retargets a request to another model's context, or not at all when the prompt does not fit", () => {
    const { table: t } = table([model("main"), model("small")], { small: 1024 });
    const small = t.get("small")!;
    expect(t.retarget(request(1000, 500), small)).toMatchObject({ model: "small", maxTokens: 24 });
    expect(t.retarget(request(100, 50), small)).toMatchObject({ model: "small", maxTokens: 50 });
    expect(t.retarget(request(1024, 1), small)).toBeUndefined();
  });

  it("refuses a replica of a model it does not serve", () => {
    const clock = new VirtualClock();
    const stray = replica(clock, "other", 0);
    expect(
      () =>
        new ModelTable({ models: [model("main")], backends: [stray], clock, random: new SeededRandom(1) }),
    ).toThrow("replica other/0 serves unknown model other");
  });

  it("is ready only while every model has an available replica", () => {
    const { table: t, backends } = table([model("main"), model("next")]);
    expect(t.isReady()).toBe(true);
    backends[1]!.ready = false;
    expect(t.isReady()).toBe(false);
  });
});
