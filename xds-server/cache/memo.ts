// Content-keyed sharing for resources that depend on a node's settings rather
// than on a service alone (listeners, inbound clusters): nodes with equal
// inputs get the same encoded bytes. An entry lives as long as some node's
// configuration holds it.
export class SharedMemo<V extends object> {
  private readonly refs = new Map<string, WeakRef<V>>();
  private readonly registry = new FinalizationRegistry<string>((key) => {
    if (this.refs.get(key)?.deref() === undefined) this.refs.delete(key);
  });

  get(key: string, build: () => V): V {
    const hit = this.refs.get(key)?.deref();
    if (hit) return hit;
    const v = build();
    this.refs.set(key, new WeakRef(v));
    this.registry.register(v, key);
    return v;
  }
}
