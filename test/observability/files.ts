import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** The repository's top level: paths in docker-compose.yml are relative to it. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export const PATHS = {
  dashboard: "config/grafana/dashboards/tollgate.json",
  dashboardProvider: "config/grafana/dashboards/dashboard.yml",
  datasource: "config/grafana/datasources/prometheus.yml",
  prometheus: "config/prometheus/prometheus.yml",
  alerts: "config/prometheus/alerts.yml",
  compose: "docker-compose.yml",
  gatewayConfig: "config/compose.yaml",
  nginx: "config/nginx/nginx.conf",
} as const;

export function readText(path: string): string {
  return readFileSync(resolve(ROOT, path), "utf8");
}

export function exists(path: string): boolean {
  return existsSync(resolve(ROOT, path));
}

/** A YAML file as plain data; docker-compose's `<<` merge keys are applied, as Compose applies them. */
export function readYaml<T>(path: string): T {
  return parse(readText(path), { merge: true }) as T;
}

export function readJson<T>(path: string): T {
  return JSON.parse(readText(path)) as T;
}
