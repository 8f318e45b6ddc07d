import { defineConfig } from "vitest/config";
import { SummaryLineReporter } from "./test/support/summary-reporter.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    // One module graph per worker, not per file: the code keeps no module-level state (docs/architecture.md), and
    // re-importing it for each of ~140 files cost 45 of the suite's ~180 s on two cores.
    isolate: false,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: ["default", new SummaryLineReporter()],
  },
});
