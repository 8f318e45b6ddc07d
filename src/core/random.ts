/**
 * Seeded randomness. Every stochastic decision in the core (fault injection, output lengths, generated text,
 * weighted routing) draws from an injected {@link Random}, so a run is reproducible from its seed.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
}

/** FNV-1a 32-bit hash of a string: a cheap, stable seed derivation (not for security). */
export function hashString(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * SplitMix32 (Steele, Lea & Flood 2014, 32-bit variant): passes BigCrush-level smoke tests for simulation
 * use, tiny state, fast. Not cryptographic.
 */
export class SeededRandom implements Random {
  #state: number;

  constructor(seed: number | string) {
    this.#state = (typeof seed === "string" ? hashString(seed) : seed) >>> 0;
  }

  next(): number {
    this.#state = (this.#state + 0x9e3779b9) | 0;
    let z = this.#state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Standard normal by Box-Muller. */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given median and sigma (of the underlying normal). */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }
}
