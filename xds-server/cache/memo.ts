// Content-keyed sharing for resources that depend on a node's settings rather
// than on a service alone (listeners, inbound clusters): nodes with equal
// inputs get the same encoded bytes. Entries unused for a whole generation
// (one inventory version) are dropped.
export class GenerationMemo<V> {
  private current = new Map<string, V>();
  private previous = new Map<string, V>();

  get(key: string, build: () => V): V {
    let v = this.current.get(key);
    if (v !== undefined) return v;
    v = this.previous.get(key) ?? build();
    this.current.set(key, v);
    return v;
  }

  nextGeneration(): void {
    this.previous = this.current;
    this.current = new Map();
  }
}
