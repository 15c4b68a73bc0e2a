/**
 * Seeded randomness. Pure TypeScript (no tfjs), so `@updates-leak/datasets` can use it through the
 * `@updates-leak/core/random` subpath without loading TensorFlow.js.
 *
 * Generator: xoshiro128** seeded through splitmix32. `fork(...keys)` derives an independent stream
 * from this stream's seed and the keys (a pure function of both), so work item k of a run can draw
 * its randomness from `rng.fork("shard", k)` and be reproduced alone, in any order, in any process.
 */

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a over the UTF-16 code units of a string: maps string keys to 32-bit seeds. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A seed or fork key: a number (taken as a 32-bit unsigned integer) or a string (hashed). */
export type SeedKey = string | number;

function keyToSeed(base: number, keys: readonly SeedKey[]): number {
  let h = base >>> 0;
  for (const k of keys) {
    const kk = typeof k === "number" ? k >>> 0 : hashString(k);
    const mix = splitmix32((h ^ Math.imul(kk, 0x9e3779b1)) >>> 0);
    h = mix();
  }
  return h >>> 0;
}

/**
 * A seeded random stream (xoshiro128**). `fork(...keys)` derives an independent stream that depends only
 * on this stream's seed and the keys, so any work item can be reproduced alone.
 */
export class Rng {
  readonly seed: number;
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  constructor(seed: SeedKey) {
    if (typeof seed === "number" && (!Number.isInteger(seed) || seed < 0)) {
      throw new Error(`Rng: seed must be a non-negative integer or a string, got ${seed}`);
    }
    this.seed = typeof seed === "number" ? seed >>> 0 : hashString(seed);
    const sm = splitmix32(this.seed);
    this.a = sm() | 0;
    this.b = sm() | 0;
    this.c = sm() | 0;
    this.d = sm() | 0;
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** A new independent stream, a pure function of this stream's seed and the keys. */
  fork(...keys: SeedKey[]): Rng {
    return new Rng(keyToSeed(this.seed, keys));
  }

  /**
   * Uniform 32-bit unsigned integer. The state words are kept as int32 (`| 0`), the same bits as
   * unsigned, so that the JIT keeps them in integer registers (4x faster than unsigned doubles).
   */
  nextU32(): number {
    const b = this.b;
    const m = Math.imul(b, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = b << 9;
    const c = this.c ^ this.a;
    const d = this.d ^ b;
    this.b = b ^ c;
    this.a = this.a ^ d;
    this.c = c ^ t;
    this.d = (d << 11) | (d >>> 21);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Rng.int: n must be a positive integer, got ${n}`);
    // Rejection sampling for an unbiased result.
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return x % n;
  }

  /** Standard normal (Box-Muller, caching the second value). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T, A extends { length: number; [i: number]: T }>(arr: A): A {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i] as T;
      arr[i] = arr[j] as T;
      arr[j] = t;
    }
    return arr;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle<number, Int32Array>(p);
  }

  /** k distinct integers from [0, n) (without replacement), in random order. */
  sample(n: number, k: number): Int32Array {
    if (k > n) throw new Error(`Rng.sample: cannot draw ${k} distinct items from ${n}`);
    if (k * 4 < n) {
      const seen = new Set<number>();
      const out = new Int32Array(k);
      let i = 0;
      while (i < k) {
        const x = this.int(n);
        if (!seen.has(x)) {
          seen.add(x);
          out[i++] = x;
        }
      }
      return out;
    }
    return this.permutation(n).subarray(0, k).slice();
  }

  /** Float32Array of n standard normals times std. */
  normals(n: number, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal() * std;
    return out;
  }
}
