// Latency summary per edge: fixed log-spaced buckets, so two histograms merge
// by adding counts and one persists as a small blob. Bucket i >= 1 covers
// [MIN * 2^((i-1)/STEPS), MIN * 2^(i/STEPS)) ms: about ±9% per quantile.

const MIN_MS = 0.1;
const STEPS = 4;
export const BUCKETS = 100; // the last bucket is open-ended (~47 min and more)
const LOG_MIN = Math.log2(MIN_MS);

export class LatencyHistogram {
  readonly counts: Float64Array;

  constructor(counts?: Float64Array) {
    this.counts = counts ?? new Float64Array(BUCKETS);
  }

  add(ms: number): void {
    const i = bucketOf(ms);
    if (i >= 0) this.counts[i]++;
  }

  /** Counts one latency already put in its bucket by bucketOf (-1: none). */
  addBucket(i: number): void {
    if (i >= 0) this.counts[i]++;
  }

  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i];
  }

  total(): number {
    let n = 0;
    for (let i = 0; i < BUCKETS; i++) n += this.counts[i];
    return n;
  }

  /** The q-quantile in ms (the geometric middle of its bucket), or undefined when empty. */
  quantile(q: number): number | undefined {
    const total = this.total();
    if (total === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return i === 0 ? 0 : round(MIN_MS * 2 ** ((i - 0.5) / STEPS));
    }
    return undefined;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.counts.buffer, this.counts.byteOffset, this.counts.byteLength);
  }

  static fromBuffer(buf: Uint8Array | null | undefined): LatencyHistogram {
    const h = new LatencyHistogram();
    if (buf && buf.byteLength === BUCKETS * 8) {
      new Uint8Array(h.counts.buffer).set(buf);
    }
    return h;
  }
}

/** The bucket of a latency in ms, or -1 for none (negative: not measured). One record updates two edges: computed once. */
export function bucketOf(ms: number): number {
  if (!(ms >= MIN_MS)) return ms >= 0 ? 0 : -1;
  const i = Math.floor((Math.log2(ms) - LOG_MIN) * STEPS) + 1;
  return i < BUCKETS ? i : BUCKETS - 1;
}

function round(ms: number): number {
  return ms >= 10 ? Math.round(ms) : Math.round(ms * 100) / 100;
}
