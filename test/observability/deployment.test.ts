import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { parseBackendCommand } from "../../src/replica-server/command.js";
import { exists, PATHS, ROOT, readText, readYaml } from "./files.js";

/** docker-compose.yml, as far as these checks read it. */
interface Service {
  build?: string;
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
}
const compose = readYaml<{ services: Record<string, Service> }>(PATHS.compose);
const services = compose.services;
const prometheus = readYaml<{
  global: { scrape_interval: string };
  rule_files: string[];
  scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
}>(PATHS.prometheus);
const rawGateway = readYaml<{ guard: { secret: string }; admin: { key: string } }>(PATHS.gatewayConfig);

/** Bind mounts of a service as container path -> host path (relative to the repository). */
function mounts(service: Service): Map<string, string> {
  const binds = (service.volumes ?? []).filter((v) => v.startsWith("./")).map((v) => v.split(":"));
  return new Map(binds.map(([host, container]) => [container!, host!.slice(2)]));
}
/** The value after `--flag` in a command. */
function flag(command: string[] | undefined, name: string): string | undefined {
  const i = command?.indexOf(name) ?? -1;
  return i < 0 ? undefined : command?.[i + 1];
}
const gatewayNames = Object.keys(services).filter((n) => services[n]?.command?.includes("serve"));
const backendNames = Object.keys(services).filter((n) => services[n]?.command?.[2] === "backend");
const gatewayEnv = services[gatewayNames[0]!]?.environment ?? {};
/** The secret compose passes when TOLLGATE_GUARD_SECRET is not set (`${NAME:-default}`). */
const defaultSecret = /^\$\{TOLLGATE_GUARD_SECRET:-(.+)\}$/.exec(
  gatewayEnv["TOLLGATE_GUARD_SECRET"] ?? "",
)?.[1];
/** The admin key compose passes when TOLLGATE_ADMIN_KEY is not set. */
const defaultAdminKey = /^\$\{TOLLGATE_ADMIN_KEY:-(.+)\}$/.exec(gatewayEnv["TOLLGATE_ADMIN_KEY"] ?? "")?.[1];
const gateway = loadConfig({
  file: `${ROOT}/${PATHS.gatewayConfig}`,
  env: { TOLLGATE_GUARD_SECRET: defaultSecret, TOLLGATE_ADMIN_KEY: defaultAdminKey },
});

describe("docker-compose.yml", () => {
  it("runs a balancer, two gateways, two backends, redis, prometheus and grafana", () => {
    expect(gatewayNames).toEqual(["gateway-1", "gateway-2"]);
    expect(backendNames).toEqual(["backend-1", "backend-2"]);
    for (const name of ["lb", "redis", "prometheus", "grafana"]) expect(services).toHaveProperty(name);
    expect(services["lb"]?.ports).toEqual(["8080:8080"]);
  });

  it("mounts only files and folders that exist, and builds from this Dockerfile", () => {
    const missing = Object.values(services).flatMap((s) => [...mounts(s).values()].filter((p) => !exists(p)));
    expect(missing).toEqual([]);
    for (const name of [...gatewayNames, ...backendNames]) expect(services[name]?.build).toBe(".");
    expect(exists("Dockerfile")).toBe(true);
  });

  it("gives the gateways the compose config and a guard secret of at least 32 characters", () => {
    for (const name of gatewayNames) {
      const service = services[name]!;
      const file = flag(service.command, "--config")!;
      expect(mounts(service).get(file)).toBe(PATHS.gatewayConfig);
      expect(service.environment).toHaveProperty("TOLLGATE_GUARD_SECRET");
    }
    expect(rawGateway.guard.secret).toBe(`\${TOLLGATE_GUARD_SECRET}`);
    expect(gateway.guard.secret?.length).toBeGreaterThanOrEqual(32);
  });

  it("starts backends whose flags `tollgate backend` accepts, on the port their health check probes", () => {
    for (const name of backendNames) {
      const service = services[name]!;
      const parsed = parseBackendCommand(service.command!.slice(3), { env: service.environment ?? {} });
      if (parsed.kind !== "run") throw new Error(`${name}: ${JSON.stringify(parsed)}`);
      expect(parsed.config.server.host).toBe("0.0.0.0");
      expect(String(parsed.config.server.port)).toBe(service.environment?.["PORT"]);
    }
  });
});

describe("config/compose.yaml (the gateways' config)", () => {
  it("points each openai-http deployment at a backend service, its port and its model id", () => {
    const deployments = gateway.deployments.map((d) => d.backend);
    expect(deployments).toHaveLength(backendNames.length);
    for (const backend of deployments) {
      if (backend.type !== "openai-http") throw new Error(`unexpected ${backend.type} deployment`);
      const url = new URL(backend.url);
      const service = services[url.hostname];
      expect(backendNames).toContain(url.hostname);
      expect(url.port).toBe(flag(service?.command, "--port"));
      expect(backend.upstreamModel).toBe(flag(service?.command, "--model-id"));
    }
  });

  it("requires the admin key from every client, loopback included, taken from the environment", () => {
    expect(gateway.admin.requireKey).toBe(true);
    expect(rawGateway.admin.key).toBe(`\${TOLLGATE_ADMIN_KEY}`);
    for (const name of gatewayNames) expect(services[name]?.environment).toHaveProperty("TOLLGATE_ADMIN_KEY");
    expect(gateway.admin.key?.length).toBeGreaterThanOrEqual(16);
  });

  it("keeps idle connections open longer than nginx reuses them (upstream keepalive_timeout: 60 s)", () => {
    expect(gateway.server.keepAliveTimeoutMs).toBeGreaterThan(60_000);
  });

  it("uses the redis service and trusts X-Forwarded-For from the balancer's fixed address only", () => {
    expect(new URL(gateway.store.url!).hostname).toBe("redis");
    const lbNetworks = services["lb"]?.networks as Record<string, { ipv4_address?: string }>;
    const lbAddress = Object.values(lbNetworks)[0]?.ipv4_address;
    expect(gateway.guard.trustedProxies).toEqual([lbAddress]);
  });
});

describe("config/prometheus/prometheus.yml", () => {
  const targets = (job: string) =>
    prometheus.scrape_configs.find((s) => s.job_name === job)?.static_configs.flatMap((c) => c.targets);

  it("scrapes every gateway and backend service on its port every 5 s", () => {
    expect(prometheus.global.scrape_interval).toBe("5s");
    expect(targets("tollgate-gateway")).toEqual(gatewayNames.map((n) => `${n}:${gateway.server.port}`));
    expect(targets("tollgate-backend")).toEqual(
      backendNames.map((n) => `${n}:${flag(services[n]?.command, "--port")}`),
    );
  });

  it("loads its config and alert rules from files mounted into the prometheus service", () => {
    const mounted = mounts(services["prometheus"]!);
    const configFile = services["prometheus"]?.command
      ?.find((arg) => arg.startsWith("--config.file="))
      ?.slice("--config.file=".length);
    expect(mounted.get(configFile!)).toBe(PATHS.prometheus);
    expect(prometheus.rule_files.map((f) => mounted.get(f))).toEqual([PATHS.alerts]);
  });
});

describe("Grafana provisioning", () => {
  const grafanaMounts = mounts(services["grafana"]!);
  const datasources = readYaml<{
    apiVersion: number;
    datasources: { type: string; uid: string; url: string }[];
  }>(PATHS.datasource);
  const providers = readYaml<{
    apiVersion: number;
    providers: { type: string; options: { path: string } }[];
  }>(PATHS.dashboardProvider);

  it("points the Prometheus datasource at the prometheus service", () => {
    expect(datasources.apiVersion).toBe(1);
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ type: "prometheus", uid: "prometheus", url: "http://prometheus:9090" }),
    ]);
    expect(services["prometheus"]?.ports).toContain("9090:9090");
    expect(grafanaMounts.get("/etc/grafana/provisioning/datasources")).toBe("config/grafana/datasources");
  });

  it("loads dashboards from the folder where compose mounts tollgate.json", () => {
    expect(providers.apiVersion).toBe(1);
    const [provider] = providers.providers;
    expect(provider?.type).toBe("file");
    expect(grafanaMounts.get(provider!.options.path)).toBe("config/grafana/dashboards");
    const home = services["grafana"]?.environment?.["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"];
    expect(home).toBe(`${provider!.options.path}/tollgate.json`);
  });
});

describe("config/nginx/nginx.conf", () => {
  const nginx = readText(PATHS.nginx);

  it("balances over the gateway services, streams, and lets the gateways answer oversized bodies", () => {
    const upstreams = [...nginx.matchAll(/^\s*server ([\w.-]+:\d+)/gm)].map((m) => m[1]);
    expect(upstreams).toEqual(gatewayNames.map((n) => `${n}:${gateway.server.port}`));
    expect(nginx).toMatch(/listen 8080;/);
    expect(nginx).toMatch(/proxy_buffering off;/);
    const maxBody = Number(/client_max_body_size (\d+)m;/.exec(nginx)?.[1]) * 1024 * 1024;
    expect(maxBody).toBeGreaterThan(gateway.server.bodyLimitBytes);
  });

  it("does not forward the admin API from the published port", () => {
    expect(nginx).toMatch(/location \/admin\/ \{\s*return 404;\s*\}/);
  });
});
