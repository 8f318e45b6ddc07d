// Writes docs/metrics.md from the metric registries: `npx tsx scripts/metrics-doc.ts`.
import { writeFileSync } from "node:fs";
import { renderMetricsDoc } from "../src/metrics/metrics-doc.js";

writeFileSync(new URL("../docs/metrics.md", import.meta.url), renderMetricsDoc());
