import { hashString } from "../../core/random.js";

/**
 * Prefix keys and rendezvous ranks, shared by `prefix-affinity` and `kv-aware`.
 *
 * A prefix key hashes the first `prefixTokens` prompt token ids, cut down to whole KV blocks: a prefix cache
 * (vLLM's automatic prefix caching, the simulated engine's) stores and matches only full blocks, so two prompts
 * that agree on the first 250 tokens share 15 blocks of 16, and the key must not depend on the 10 tokens past
 * the last full block. A prompt shorter than one block has nothing cacheable; it is keyed on all of its tokens,
 * which keeps identical short requests together and spreads the others.
 */
export interface PrefixKeyOptions {
  /** Tokens of the prompt the key covers, rounded down to whole blocks (default 256). */
  prefixTokens?: number;
  /** Tokens per KV-cache block of the replicas (default 16, vLLM's `block_size`). */
  blockSize?: number;
}

export interface PrefixKeyConfig {
  prefixTokens: number;
  blockSize: number;
}

export function prefixKeyConfig(policy: string, options: PrefixKeyOptions): PrefixKeyConfig {
  const config = { prefixTokens: options.prefixTokens ?? 256, blockSize: options.blockSize ?? 16 };
  for (const [name, value] of Object.entries(config)) {
    if (!(Number.isInteger(value) && value > 0)) {
      throw new RangeError(`${policy}: ${name} must be a positive integer, got ${value}`);
    }
  }
  return config;
}

/** 32-bit key of the block-aligned prompt prefix. */
export function prefixKey(promptTokens: readonly number[], config: PrefixKeyConfig): number {
  const within = Math.min(config.prefixTokens, promptTokens.length);
  const aligned = within - (within % config.blockSize);
  return murmur3Words(promptTokens, aligned > 0 ? aligned : promptTokens.length);
}

/**
 * Rendezvous (highest-random-weight) hashing, Thaler & Ravishankar 1998: every (key, replica) pair gets a
 * pseudo-random weight and a key's replicas are ranked by it. Removing a replica moves only the keys it ranked
 * first (they go to their second choice); every other key keeps its replica. Higher is better.
 */
export function rendezvousWeight(key: number, replicaId: string): number {
  return fmix32(key ^ fmix32(hashString(replicaId)));
}

/** MurmurHash3 x86_32 (Appleby, public domain) over the first `count` 32-bit words: fast, well mixed. */
function murmur3Words(words: readonly number[], count: number): number {
  let h = 0x9747b28c;
  for (let i = 0; i < count; i++) {
    let k = Math.imul(words[i]! | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return fmix32(h ^ (count * 4));
}

/** MurmurHash3's finaliser: every input bit affects every output bit (avalanche). */
function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
