import { defineConfig } from "vitest/config";
import { SummaryLineReporter } from "./test/support/summary-reporter.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: ["default", new SummaryLineReporter()],
  },
});
