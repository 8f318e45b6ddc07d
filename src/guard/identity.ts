import { createHash, timingSafeEqual } from "node:crypto";
import { BlockList, isIP } from "node:net";
import type { GuardConfig, LimitsConfig } from "../config/schema.js";

/** Who sent a request. */
export interface Identity {
  kind: "key" | "anonymous";
  /** Rate-limit and challenge subject: `key:<name>` or `ip:<address>`. */
  subject: string;
  /** Tenant name (keys) or "anonymous". */
  tenant: string;
  tier: string;
  sloClass?: string;
  /**
   * `adaptive`: scored for risk and challenged at the threshold (anonymous clients; keys of tenants that opt
   * in). `never`: limits and admission only (keys, by default).
   */
  challenge: "never" | "adaptive";
  /** Limits that apply, most specific first: the key's, then its tenant's (or the anonymous IP's). */
  limits: ReadonlyArray<{ scope: "key" | "tenant" | "ip"; id: string; limits: LimitsConfig }>;
}

interface KeyEntry {
  name: string;
  digest: Buffer;
  tenant: string;
  limits: LimitsConfig;
}

/**
 * API keys from config, held only as SHA-256 digests. A presented key is hashed and its digest looked up; the
 * candidate's digest is then compared with timingSafeEqual, so the comparison takes the same time whatever
 * the bytes (a lookup miss is a miss on a hash the client cannot steer).
 */
export class ApiKeys {
  readonly #byDigest = new Map<string, KeyEntry>();

  constructor(keys: GuardConfig["apiKeys"]) {
    for (const key of keys) {
      this.#byDigest.set(key.sha256, {
        name: key.name,
        digest: Buffer.from(key.sha256, "hex"),
        tenant: key.tenant,
        limits: key.limits,
      });
    }
  }

  get size(): number {
    return this.#byDigest.size;
  }

  find(presented: string): KeyEntry | undefined {
    const digest = createHash("sha256").update(presented, "utf8").digest();
    const entry = this.#byDigest.get(digest.toString("hex"));
    return entry !== undefined && timingSafeEqual(entry.digest, digest) ? entry : undefined;
  }
}

/** The bearer token of an `Authorization: Bearer <key>` header; undefined when absent or not a bearer. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * The client's address: the socket's peer, or, when that peer is a trusted proxy, the right-most address in
 * X-Forwarded-For that is not itself a trusted proxy (the left part of the header is client-controlled).
 */
export class ClientAddress {
  readonly #trusted = new BlockList();
  readonly #any: boolean;

  constructor(trustedProxies: readonly string[]) {
    for (const entry of trustedProxies) {
      const [address = "", bits] = entry.split("/");
      const type = isIP(address) === 6 ? "ipv6" : "ipv4";
      if (bits === undefined) this.#trusted.addAddress(address, type);
      else this.#trusted.addSubnet(address, Number(bits), type);
    }
    this.#any = trustedProxies.length > 0;
  }

  resolve(peer: string | undefined, forwardedFor: string | undefined): string {
    let address = normalize(peer ?? "unknown");
    if (!this.#any || forwardedFor === undefined || !this.#isTrusted(address)) return address;
    const hops = forwardedFor
      .split(",")
      .map((h) => normalize(h.trim()))
      .filter((h) => isIP(h) !== 0);
    for (let i = hops.length - 1; i >= 0; i--) {
      address = hops[i]!;
      if (!this.#isTrusted(address)) return address;
    }
    return address;
  }

  #isTrusted(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    return this.#trusted.check(address, family === 6 ? "ipv6" : "ipv4");
  }
}

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) is 1.2.3.4. */
function normalize(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
