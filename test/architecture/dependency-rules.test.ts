import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const DEPCRUISE = join(ROOT, "node_modules/.bin/depcruise");
const CONFIG = join(ROOT, ".dependency-cruiser.cjs");

/** Runs the dependency rules in `cwd` as `npm run lint:deps` does: a non-zero exit fails lint. */
const run = (cwd: string, args: string[]) =>
  promisify(execFile)(DEPCRUISE, [...args, "--config", CONFIG], { cwd, maxBuffer: 64 << 20 }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code?: number; stdout?: string }) => ({ code: error.code ?? -1, stdout: error.stdout ?? "" }),
  );

/** The violations as JSON (the JSON reporter always exits 0), packages named without their file. */
async function violations(cwd: string, paths: string[]): Promise<string[]> {
  const { stdout } = await run(cwd, [...paths, "--output-type", "json"]);
  const json = JSON.parse(stdout) as {
    summary: { violations: Array<{ rule: { name: string }; from: string; to: string }> };
  };
  return json.summary.violations.map(
    (v) => `${v.rule.name}: ${v.from} -> ${v.to.replace(/^.*node_modules\/((?:@[^/]+\/)?[^/]+)\/.*$/, "$1")}`,
  );
}

describe("dependency rules (.dependency-cruiser.cjs, run by npm run lint)", () => {
  // The real tree is checked by npm run lint itself; here, that lint runs the rules and that each rule fires.
  it("npm run lint runs them", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts["lint"]).toContain("npm run lint:deps");
    expect(pkg.scripts["lint:deps"]).toContain("depcruise src bench test --config .dependency-cruiser.cjs");
  });

  describe("a tree that breaks each rule once", () => {
    let dir: string;
    /** One module per file; `main.ts` imports the rest so that only `dead.ts` is unreachable. */
    const FILES: Record<string, string> = {
      "src/main.ts": [
        'import "./core/clock.js";',
        'import "./cache/lookup.js";',
        'import "./pipeline/serve.js";',
        'import "./routing/pick.js";',
        'import "./guard/check.js";',
        'import "./store/memory.js";',
        'import "./accounting/cost.js";',
        'import "./simulate/plan-a.js";',
        'import "./http/app.js";',
      ].join("\n"),
      // A type-only cycle: still a cycle.
      "src/simulate/plan-a.ts": 'import type { B } from "./plan-b.js";\nexport type A = { b?: B };\n',
      "src/simulate/plan-b.ts": 'import type { A } from "./plan-a.js";\nexport type B = { a?: A };\n',
      // core/ reaching up into a stage.
      "src/core/clock.ts": 'import type { Pick } from "../routing/pick.js";\nexport type Clock = Pick;\n',
      // A stage importing the orchestration.
      "src/cache/lookup.ts":
        'import type { Serve } from "../pipeline/serve.js";\nexport type Lookup = Serve;\n',
      // The pipeline importing the HTTP edge.
      "src/pipeline/serve.ts": 'import { app } from "../http/app.js";\nexport type Serve = typeof app;\n',
      "src/http/app.ts": 'import { Hono } from "hono";\nexport const app = new Hono();\n',
      // hono outside http/.
      "src/routing/pick.ts": 'import { Hono } from "hono";\nexport type Pick = Hono;\n',
      // src/ importing a test helper.
      "src/guard/check.ts": 'import { helper } from "../../test/helper.js";\nexport const check = helper;\n',
      "test/helper.ts": "export const helper = 1;\n",
      // A devDependency at run time.
      "src/store/memory.ts": 'import { describe } from "vitest";\nexport const memory = describe;\n',
      // An import that resolves to nothing.
      "src/accounting/cost.ts": 'import { price } from "./prices.js";\nexport const cost = price;\n',
      // Nothing imports it.
      "src/dead.ts": "export const dead = 1;\n",
    };

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "tollgate-depcruise-"));
      await writeFile(
        join(dir, "package.json"),
        JSON.stringify({ type: "module", dependencies: { hono: "*" }, devDependencies: { vitest: "*" } }),
      );
      await writeFile(join(dir, "tsconfig.json"), await readFile(join(ROOT, "tsconfig.json")));
      await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
      for (const [path, text] of Object.entries(FILES)) {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), text);
      }
    });

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("fails (non-zero exit, so lint fails) naming every broken rule where it is broken", async () => {
      const [lint, found] = await Promise.all([run(dir, ["src", "test"]), violations(dir, ["src", "test"])]);
      expect(lint.code).not.toBe(0);
      expect(found.sort()).toEqual(
        [
          // A cycle is reported once, at the module the cruise met first.
          "no-circular: src/simulate/plan-a.ts -> src/simulate/plan-b.ts",
          "core-is-primitives: src/core/clock.ts -> src/routing/pick.ts",
          "stages-do-not-import-orchestration: src/cache/lookup.ts -> src/pipeline/serve.ts",
          "pipeline-does-not-import-http: src/pipeline/serve.ts -> src/http/app.ts",
          "only-http-imports-hono: src/routing/pick.ts -> hono",
          "src-does-not-import-bench-or-test: src/guard/check.ts -> test/helper.ts",
          "src-uses-runtime-dependencies-only: src/store/memory.ts -> vitest",
          "no-unresolvable: src/accounting/cost.ts -> ./prices.js",
          "no-dead-modules: src/dead.ts -> src/dead.ts",
        ].sort(),
      );
    });
  });
});
