// Counts a redelivered record once. The key is request id + start time +
// caller + callee: apps propagate x-request-id along a whole call chain, and
// may call one dependency twice in a request, so the id alone would merge
// different calls; a redelivery repeats all four.
//
// Remembered in two generations of an open-addressing table of 64-bit hashes
// (typed arrays: no allocation per record, nothing for the GC to trace). The
// young generation turns old after `windowMs` or when half of `maxEntries`
// is used, so an id is remembered for at least the window unless more than
// maxEntries/2 records arrive within it. Kept in memory: a crash between a
// flush and the transport's acknowledgement can recount that one batch, which
// inflates counts but never changes a scope.

export const DEFAULT_DEDUPE_WINDOW_MS = 10 * 60_000;
export const DEFAULT_DEDUPE_MAX = 1_000_000;
const SEED1 = 0x9e3779b9;
const SEED2 = 0x85ebca6b;
/** Distinct caller/callee names whose hashes are kept; unresolved spellings may be unbounded. */
const NAMES_CAP = 10_000;

class Generation {
  private readonly a: Uint32Array;
  private readonly b: Uint32Array;
  private readonly mask: number;
  size = 0;
  startedAt = -Infinity;

  constructor(entries: number) {
    let cap = 16;
    while (cap < entries * 2) cap *= 2; // load factor ≤ 1/2 keeps probes short
    this.a = new Uint32Array(cap);
    this.b = new Uint32Array(cap);
    this.mask = cap - 1;
  }

  /** True if present; otherwise inserts when `insert`. (0, 0) marks an empty slot. */
  probe(h1: number, h2: number, insert: boolean): boolean {
    for (let i = h1 & this.mask; ; i = (i + 1) & this.mask) {
      const x = this.a[i];
      const y = this.b[i];
      if (x === h1 && y === h2) return true;
      if (x === 0 && y === 0) {
        if (insert) {
          this.a[i] = h1;
          this.b[i] = h2;
          this.size++;
        }
        return false;
      }
    }
  }

  clear(now: number): void {
    // An empty one is all zeros already: the first turn must not touch (fault in) 8 MB of fresh pages at once.
    if (this.size > 0) {
      this.a.fill(0);
      this.b.fill(0);
    }
    this.size = 0;
    this.startedAt = now;
  }
}

export class Dedupe {
  private young: Generation;
  private old: Generation;
  private readonly perGeneration: number;
  private h1 = 0;
  private h2 = 0;
  private readonly names = new Map<string, { h1: number; h2: number }>();

  constructor(
    private readonly windowMs = DEFAULT_DEDUPE_WINDOW_MS,
    maxEntries = DEFAULT_DEDUPE_MAX,
  ) {
    this.perGeneration = Math.max(1, Math.floor(maxEntries / 2));
    this.young = new Generation(this.perGeneration);
    this.old = new Generation(this.perGeneration);
  }

  /** True when this key was already seen (within the window); otherwise remembers it. */
  seenBefore(requestId: string, timeMs: number | undefined, source: string, dest: string, now: number): boolean {
    if (this.young.size >= this.perGeneration || now - this.young.startedAt >= this.windowMs) this.turn(now);
    this.h1 = SEED1;
    this.h2 = SEED2;
    this.mix(requestId);
    this.mixNumber(timeMs ?? -1);
    this.mixName(source);
    this.mixName(dest);
    let h1 = fmix(this.h1 ^ this.h2);
    const h2 = fmix(this.h2 + Math.imul(h1, 0x27d4eb2d)) >>> 0;
    h1 >>>= 0;
    if (h1 === 0 && h2 === 0) h1 = 1;
    if (this.old.probe(h1, h2, false)) return true;
    return this.young.probe(h1, h2, true);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  private turn(now: number): void {
    // Turns happen on arrival, so after a quiet spell both generations may be past the window.
    const bothStale = now - this.young.startedAt >= 2 * this.windowMs;
    const recycled = this.old;
    this.old = this.young;
    this.young = recycled;
    this.young.clear(now);
    if (bothStale) this.old.clear(now);
    // The first turn only starts the clock: nothing is old yet.
    if (this.old.startedAt === -Infinity) this.old.startedAt = now;
  }

  private mix(s: string): void {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x9e3779b1);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    // A separator, so ("ab", "c") and ("a", "bc") differ.
    this.h1 = Math.imul(h1 ^ 0xff, 0x9e3779b1);
    this.h2 = Math.imul(h2 ^ 0xff, 0x5bd1e995);
  }

  /** Caller and callee are mostly inventory ids, a small set: each is hashed once, then mixed in as two numbers. */
  private mixName(s: string): void {
    let name = this.names.get(s);
    if (name === undefined) {
      const [h1, h2] = [this.h1, this.h2];
      this.h1 = SEED1;
      this.h2 = SEED2;
      this.mix(s);
      name = { h1: this.h1, h2: this.h2 };
      [this.h1, this.h2] = [h1, h2];
      if (this.names.size >= NAMES_CAP) this.names.clear();
      this.names.set(s, name);
    }
    this.h1 = Math.imul(this.h1 ^ name.h1, 0x9e3779b1);
    this.h2 = Math.imul(this.h2 ^ name.h2, 0x5bd1e995);
  }

  private mixNumber(n: number): void {
    const lo = n | 0;
    const hi = Math.floor(n / 4294967296) | 0;
    this.h1 = Math.imul(Math.imul(this.h1 ^ lo, 0x9e3779b1) ^ hi, 0x9e3779b1);
    this.h2 = Math.imul(Math.imul(this.h2 ^ hi, 0x5bd1e995) ^ lo, 0x5bd1e995);
  }
}

/** MurmurHash3's finalizer: spreads every input bit over the output. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
