import type { GuardConfig } from "../config/schema.js";
import { GatewayError } from "../core/errors.js";
import type { Metrics } from "../metrics/metrics.js";
import { ApiKeys, bearerToken, ClientAddress, type Identity } from "./identity.js";

/** What the HTTP layer hands the guard about a request. */
export interface GuardInput {
  authorization?: string | undefined;
  /** The socket's remote address. */
  peer?: string | undefined;
  forwardedFor?: string | undefined;
  /** From the x-tollgate-pass header or the tollgate_pass cookie. */
  pass?: string | undefined;
}

const ANONYMOUS_TENANT = "anonymous";

/**
 * Who sent a request: an API key's tenant, tier, class and limits, else the client's address (through trusted
 * proxies) as an anonymous client. Refusals (401) are counted as guard decisions.
 */
export class IdentityResolver {
  readonly #config: GuardConfig;
  readonly #metrics: Metrics;
  readonly #keys: ApiKeys;
  readonly #address: ClientAddress;

  constructor(options: { config: GuardConfig; metrics: Metrics }) {
    this.#config = options.config;
    this.#metrics = options.metrics;
    this.#keys = new ApiKeys(options.config.apiKeys);
    this.#address = new ClientAddress(options.config.trustedProxies);
  }

  /** 401 for an unknown API key, or for anonymous requests when they are not allowed. */
  identify(input: GuardInput): Identity {
    // With no keys configured there is nothing to check a key against: clients that must send one (the
    // openai SDK always does) are served as anonymous. Once keys exist, an unknown key is a 401.
    const key = this.#keys.size === 0 ? undefined : bearerToken(input.authorization);
    if (key !== undefined) {
      const entry = this.#keys.find(key);
      if (entry === undefined) {
        this.#metrics.guardRequests.inc({ decision: "rejected", reason: "invalid_api_key", tier: "unknown" });
        throw new GatewayError("invalid_api_key", "Incorrect API key provided.");
      }
      const tenant = this.#config.tenants[entry.tenant]!;
      return {
        kind: "key",
        subject: `key:${entry.name}`,
        tenant: entry.tenant,
        tier: tenant.tier,
        challenge: tenant.challenge,
        ...(tenant.sloClass !== undefined && { sloClass: tenant.sloClass }),
        limits: [
          { scope: "key", id: entry.name, limits: entry.limits },
          { scope: "tenant", id: entry.tenant, limits: tenant.limits },
        ],
      };
    }
    const { anonymous } = this.#config;
    if (!anonymous.allowed) {
      this.#metrics.guardRequests.inc({ decision: "rejected", reason: "missing_api_key", tier: "anonymous" });
      throw new GatewayError("invalid_api_key", "An API key is required: send Authorization: Bearer <key>.");
    }
    const address = this.#address.resolve(input.peer, input.forwardedFor);
    return {
      kind: "anonymous",
      subject: `ip:${address}`,
      tenant: ANONYMOUS_TENANT,
      tier: "anonymous",
      challenge: "adaptive",
      ...(anonymous.sloClass !== undefined && { sloClass: anonymous.sloClass }),
      limits: [{ scope: "ip", id: address, limits: anonymous.limits }],
    };
  }
}
