// Per-entity JSON kept between answers: a 10k-service list or graph is rebuilt
// by re-serializing only the entities whose signature changed, then cut into
// runs (pieces) at content-defined points — after an entity whose key hashes
// to 0 mod 256 — so one new or changed entity changes only the run it is in,
// and the gzip of the other runs is reused (gzip-pieces.ts).

export interface Fragment {
  json: string;
  /** FNV-1a of the entity's key: where runs are cut. */
  hash: number;
}

interface Entry {
  frag: Fragment;
  hard: readonly unknown[];
  soft: unknown;
  at: number;
  used: number;
}

export class FragmentCache<K> {
  private readonly entries = new Map<K, Entry>();
  private generation = 0;
  private now = 0;
  /** Entities serialized so far (how much work the cache did not save). */
  rendered = 0;

  constructor(
    private readonly opts: {
      /** A fragment whose hard signature is unchanged is reused this long even if its soft one moved. */
      softMaxAgeMs?: number;
      now?: () => number;
    } = {},
  ) {}

  /** Starts a build: entities not asked for until end() are forgotten. */
  begin(): void {
    this.generation++;
    this.now = this.opts.now?.() ?? 0;
  }

  /**
   * The entity's JSON: reused when every `hard` value is the same (Object.is)
   * and `soft` is too, or the fragment is younger than softMaxAgeMs.
   */
  get(key: K, hashKey: string, hard: readonly unknown[], soft: unknown, render: () => unknown): Fragment {
    const now = this.now;
    let e = this.entries.get(key);
    const reuse = e !== undefined && sameValues(e.hard, hard) && (Object.is(e.soft, soft) || now - e.at < (this.opts.softMaxAgeMs ?? 0));
    if (!reuse) {
      e = { frag: { json: JSON.stringify(render()), hash: e?.frag.hash ?? fnv1a(hashKey) }, hard, soft, at: now, used: 0 };
      this.entries.set(key, e);
      this.rendered++;
    }
    e!.used = this.generation;
    return e!.frag;
  }

  /**
   * Re-serializes a kept entity whose soft value moved and whose fragment is at
   * least `minAgeMs` old (its hard signature stays as the last build saw it):
   * done ahead of need, so no single answer has to renew them all at once.
   * Whether it did.
   */
  renew(key: K, soft: unknown, minAgeMs: number, now: number, render: () => unknown): boolean {
    const e = this.entries.get(key);
    if (!e || Object.is(e.soft, soft) || now - e.at < minAgeMs) return false;
    e.frag = { json: JSON.stringify(render()), hash: e.frag.hash };
    e.soft = soft;
    e.at = now;
    this.rendered++;
    return true;
  }

  end(): void {
    for (const [k, e] of this.entries) if (e.used !== this.generation) this.entries.delete(k);
  }
}

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const CUT_MASK = 255;
const MAX_RUN = 1024;

interface Run {
  frags: readonly Fragment[];
  first: boolean;
  text: string;
}

/**
 * Cuts a JSON array's members into runs (no brackets): the runs' concatenation
 * is the members joined by commas. A run made of the very fragments of the
 * last build keeps its very string, so what caches by text (gzip-pieces.ts)
 * finds it without reading it.
 */
export class ArrayRuns {
  private last = new Map<Fragment, Run>();

  pieces(frags: readonly Fragment[], out: string[]): void {
    const next = new Map<Fragment, Run>();
    let start = 0;
    const close = (end: number) => {
      if (end === start) return;
      const first = start === 0;
      const head = frags[start];
      let run = this.last.get(head);
      if (!run || run.first !== first || !sameRun(run.frags, frags, start, end)) {
        const slice = frags.slice(start, end);
        run = { frags: slice, first, text: (first ? '' : ',') + slice.map((f) => f.json).join(',') };
      }
      next.set(head, run);
      out.push(run.text);
      start = end;
    };
    for (let i = 0; i < frags.length; i++) if ((frags[i].hash & CUT_MASK) === 0 || i + 1 - start >= MAX_RUN) close(i + 1);
    close(frags.length);
    this.last = next;
  }
}

function sameRun(run: readonly Fragment[], frags: readonly Fragment[], start: number, end: number): boolean {
  if (run.length !== end - start) return false;
  for (let i = 0; i < run.length; i++) if (run[i] !== frags[start + i]) return false;
  return true;
}
