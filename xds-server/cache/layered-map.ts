// A read-only union of a large shared map and a node's few own entries, so a
// node in a big scope (or in --no-lazy mode) costs no copy of the shared map.
export class LayeredMap<K, V> implements ReadonlyMap<K, V> {
  constructor(
    private readonly shared: ReadonlyMap<K, V>,
    private readonly own: ReadonlyMap<K, V>,
  ) {}

  /** The shared layer: callers that summarise it once (config sizes) reuse that for every node built on it. */
  get sharedLayer(): ReadonlyMap<K, V> {
    return this.shared;
  }

  /** The node's own entries, which win over the shared layer's. */
  get ownLayer(): ReadonlyMap<K, V> {
    return this.own;
  }

  get size(): number {
    let n = this.shared.size;
    for (const k of this.own.keys()) if (!this.shared.has(k)) n++;
    return n;
  }

  get(key: K): V | undefined {
    return this.own.get(key) ?? this.shared.get(key);
  }

  has(key: K): boolean {
    return this.own.has(key) || this.shared.has(key);
  }

  *entries(): MapIterator<[K, V]> {
    for (const [k, v] of this.shared) if (!this.own.has(k)) yield [k, v];
    yield* this.own;
  }

  *keys(): MapIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}
