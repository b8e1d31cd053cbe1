// An immutable map whose next version costs what changed, not its size: a large
// base Map shared by many versions plus a small overlay of this version's own
// changes. Reads look at two Maps at most. The overlay is folded into a fresh
// base once it outgrows ~4·√size, so a change costs O(changed + √size)
// amortized and earlier versions stay valid (their base is never written).

const GONE: unique symbol = Symbol('gone');
type Slot<V> = V | typeof GONE;

export class VersionedMap<K, V> implements Iterable<[K, V]> {
  private constructor(
    private readonly base: ReadonlyMap<K, V>,
    private readonly top: ReadonlyMap<K, Slot<V>>,
    readonly size: number,
  ) {}

  static of<K, V>(entries: Iterable<[K, V]> = []): VersionedMap<K, V> {
    return VersionedMap.adopt(new Map(entries));
  }

  /** Takes `map` as the base without copying it: the caller must not write it afterwards. */
  static adopt<K, V>(map: Map<K, V>): VersionedMap<K, V> {
    return new VersionedMap(map, new Map(), map.size);
  }

  get(key: K): V | undefined {
    const t = this.top.get(key);
    if (t !== undefined) return t === GONE ? undefined : t;
    return this.base.get(key);
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  /** A new version with these keys set (`undefined` deletes); this one is unchanged. */
  with(changes: Iterable<readonly [K, V | undefined]>): VersionedMap<K, V> {
    const top = new Map(this.top);
    let size = this.size;
    for (const [k, v] of changes) {
      const before = top.has(k) ? top.get(k) !== GONE : this.base.has(k);
      if (v === undefined) {
        if (!before) continue;
        if (this.base.has(k)) top.set(k, GONE);
        else top.delete(k);
        size--;
      } else {
        if (!before) size++;
        top.set(k, v);
      }
    }
    if (top.size > 64 + 4 * Math.sqrt(this.base.size)) return VersionedMap.fold(this.base, top, size);
    return new VersionedMap(this.base, top, size);
  }

  private static fold<K, V>(base: ReadonlyMap<K, V>, top: ReadonlyMap<K, Slot<V>>, size: number): VersionedMap<K, V> {
    const next = new Map(base);
    for (const [k, v] of top) {
      if (v === GONE) next.delete(k);
      else next.set(k, v);
    }
    return new VersionedMap(next, new Map(), size);
  }

  /** Base order first (a replaced key keeps its place), then keys new in the overlay. */
  *entries(): IterableIterator<[K, V]> {
    for (const [k, v] of this.base) {
      const t = this.top.get(k);
      if (t === GONE) continue;
      yield [k, t === undefined ? v : t];
    }
    for (const [k, t] of this.top) if (t !== GONE && !this.base.has(k)) yield [k, t];
  }

  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}
