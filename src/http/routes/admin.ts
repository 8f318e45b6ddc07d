import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, Hono } from "hono";
import { z } from "zod";
import { validateBody } from "../../api/requests.js";
import type { FaultInjectingBackend, RuntimeFault } from "../../backends/fault-injection.js";
import { GatewayError } from "../../core/errors.js";
import type { Gateway } from "../../pipeline/gateway.js";
import { readJson } from "../body.js";
import { isLoopbackAddress } from "../connection.js";
import type { AppEnv } from "../env.js";
import { requestHeader } from "../node-io.js";

export interface AdminDeps extends AdminAccess {
  gateway: Gateway;
  /** Every replica, wrapped so faults can be set at run time. */
  replicas: ReadonlyMap<string, FaultInjectingBackend>;
}

/** Who may use the admin API over the network. */
export interface AdminAccess {
  /** Admits clients that send `Authorization: Bearer <key>`; none but loopback peers when unset. */
  key: string | undefined;
  /** Loopback peers must show the key too (admin.requireKey): a reverse proxy on the host is loopback. */
  requireKey: boolean;
}

const faultSchema = z.discriminatedUnion("mode", [
  z.object({ mode: z.literal("none") }).strict(),
  z.object({ mode: z.literal("outage") }).strict(),
  z.object({ mode: z.literal("errors"), rate: z.number().min(0).max(1).default(1) }).strict(),
  z.object({ mode: z.literal("slow"), factor: z.number().min(1).max(1000).default(5) }).strict(),
  z.object({ mode: z.literal("hang") }).strict(),
]);

/**
 * The admin API: see replicas' state and rehearse failures on a running fleet.
 *   GET  /admin/replicas                 every replica: health, breaker, load, fault mode
 *   POST /admin/replicas/{id}/faults     {"mode": "outage"|"errors"|"slow"|"hang"|"none", "rate"?, "factor"?}
 */
export function adminRoutes(app: Hono<AppEnv>, deps: AdminDeps, bodyLimitBytes: number): void {
  app.use("/admin/*", async (c, next) => {
    c.set("endpoint", "admin");
    authorize(c, deps);
    await next();
  });
  app.get("/admin/replicas", (c) => c.json({ object: "list", data: replicaStates(deps) }));
  app.post("/admin/replicas/:id{.+}/faults", async (c) => {
    const id = c.req.param("id");
    const replica = deps.replicas.get(id);
    if (replica === undefined)
      throw new GatewayError("not_found", `No replica with id '${id}'.`, { param: "id" });
    const fault: RuntimeFault = validateBody(faultSchema, await readJson(c, bodyLimitBytes));
    replica.setFault(fault);
    c.get("logger").warn({ replica: id, fault }, "runtime fault set through the admin API");
    return c.json(replicaStates(deps).find((r) => r.id === id));
  });
}

/**
 * Throws 403 unless the caller is in-process (IN_PROCESS bindings, set explicitly by the caller), or its peer
 * (recorded when the connection was accepted) is on loopback and no key is required, or it presents the admin
 * key. A request whose peer is unknown is refused: never read "no address" as "in-process".
 */
export function authorize(c: Context<AppEnv>, access: AdminAccess): void {
  if (c.env?.inProcess === true) return;
  const peer = c.env?.connection?.peer;
  if (peer === undefined) throw new GatewayError("forbidden", "The admin API cannot tell who is calling.");
  if (!access.requireKey && isLoopbackAddress(peer)) return;
  const header = requestHeader(c, "authorization") ?? "";
  const given = header.startsWith("Bearer ") ? header.slice(7) : "";
  if (access.key !== undefined && given !== "" && sameSecret(given, access.key)) return;
  throw new GatewayError(
    "forbidden",
    access.requireKey
      ? "The admin API requires the admin key: send Authorization: Bearer <admin.key>."
      : "The admin API answers loopback clients, or others with the admin key.",
  );
}

/** Constant-time comparison of two secrets (hashing first makes the lengths equal). */
function sameSecret(a: string, b: string): boolean {
  const digest = (v: string) => createHash("sha256").update(v).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function replicaStates(deps: AdminDeps) {
  return deps.gateway.replicaSamples().map((s) => {
    const replica = deps.replicas.get(s.replica);
    return {
      id: s.replica,
      model: s.model,
      deployment: s.deployment,
      provider: replica?.replica.provider,
      region: replica?.replica.region,
      gpu: replica?.replica.gpu,
      ready: s.ready,
      breaker: (["closed", "half-open", "open"] as const)[s.breakerState],
      outstanding: s.outstanding,
      running: s.running,
      waiting: s.waiting,
      kvCacheUsage: s.kvCacheUsage,
      fault: replica?.fault ?? { mode: "none" },
    };
  });
}
