/**
 * Tollgate's dependency rules (docs/architecture.md, "Layers and who may import whom"), checked by
 * `npm run lint` and by test/architecture/dependency-rules.test.ts. Each rule's comment says why it exists;
 * a violation prints the rule's name, the importing module and the imported one.
 *
 * Imports point one way: main.ts / compose.ts / http/ -> pipeline/ -> stages -> core/. A stage is framework-free
 * and knows nothing of the pipeline that wires it, so it can be tested (and simulated) on its own.
 */

/** The stages of the request path: one concern each, framework-free. */
const STAGES = "^src/(guard|cache|scheduling|routing|backends|accounting|store)/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment:
        "No import cycles, not even type-only ones (tsPreCompilationDeps): a cycle means two modules are one " +
        "module in two files, and it hides which of them is the lower layer. Move the shared piece down.",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-is-primitives",
      severity: "error",
      comment:
        "src/core/ holds the primitives (clock, heap, random, errors, shared types, tokenizer, channel, ...): " +
        "it imports nothing else of the project, so every other folder may import it.",
      from: { path: "^src/core/" },
      to: { path: "^(src|bench|test)/", pathNot: "^src/core/" },
    },
    {
      name: "stages-do-not-import-orchestration",
      severity: "error",
      comment:
        "The stages (guard, cache, scheduling, routing, backends, accounting, store) are wired by pipeline/ and " +
        "served by http/; they never import pipeline/, http/, the composition root, the CLI or the simulator.",
      from: { path: STAGES },
      to: { path: "^src/(pipeline|http|replica-server|simulate)/|^src/(compose|main)\\.ts$" },
    },
    {
      name: "pipeline-does-not-import-http",
      severity: "error",
      comment: "The pipeline serves live traffic and the offline simulator alike: it knows nothing of HTTP.",
      from: { path: "^src/pipeline/" },
      to: { path: "^src/(http|replica-server|simulate)/|^src/(compose|main)\\.ts$" },
    },
    {
      name: "only-http-imports-hono",
      severity: "error",
      comment:
        "Hono is the HTTP edge: only src/http/, src/compose.ts and src/main.ts (and bench/, test/) import " +
        "hono or @hono/*, so the serving core runs without a web framework (the simulator does).",
      from: { path: "^src/", pathNot: "^src/http/|^src/(compose|main)\\.ts$" },
      to: { path: "(^|/)node_modules/(hono|@hono/[^/]+)/" },
    },
    {
      name: "src-does-not-import-bench-or-test",
      severity: "error",
      comment: "The shipped code never depends on benchmarks or tests (they are not in the build).",
      from: { path: "^src/" },
      to: { path: "^(bench|test)/" },
    },
    {
      name: "src-uses-runtime-dependencies-only",
      severity: "error",
      comment:
        "src/ is built into dist/ and installed without devDependencies: it may import only packages in " +
        "`dependencies` (or node: built-ins).",
      from: { path: "^src/" },
      to: { dependencyTypes: ["npm-dev"], dependencyTypesNot: ["type-only"] },
    },
    {
      name: "no-unresolvable",
      severity: "error",
      comment: "An import that does not resolve is a typo or a missing dependency.",
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: "no-dead-modules",
      severity: "error",
      comment:
        "Every module of src/ is reachable from the entry point src/main.ts; one that only tests import is dead " +
        "code that the tests keep alive for nothing.",
      from: { path: "^src/main\\.ts$" },
      // plan-worker.ts is the planner's worker-thread entry, started by URL (plan-pool.ts), not imported; the
      // config/doc*.ts and metrics/metrics-doc.ts generate docs/ from the schema and the registry (run by
      // `npm run docs`, checked by tests).
      to: {
        path: "^src/",
        pathNot: "\\.d\\.ts$|^src/simulate/plan-worker\\.ts$|^src/config/doc(-walk|-format)?\\.ts$|^src/metrics/metrics-doc\\.ts$",
        reachable: false,
      },
    },
  ],
  options: {
    // Type-only imports are edges too: a type-only cycle is still a cycle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^bench/results/" },
    enhancedResolveOptions: {
      extensions: [".ts", ".mts", ".js", ".mjs", ".json"],
      conditionNames: ["import", "require", "node", "default", "types"],
      exportsFields: ["exports"],
      mainFields: ["module", "main", "types"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
