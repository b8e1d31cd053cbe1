// What a client subscribes to for one type on one stream, per the xDS protocol's
// "How the client specifies what resources to return": the name "*" subscribes
// to the wildcard (Listener and Cluster only), and a client that has never named
// a resource of a wildcard type is a legacy wildcard subscriber. Once it names
// anything, an empty set means "nothing" again.
import { WILDCARD_TYPES } from '../types.ts';

export const WILDCARD = '*';

/** What one request changed: names newly subscribed must be (re)sent even if unchanged. */
export interface SubscriptionChange {
  /** Names not subscribed before this request. */
  added: string[];
  /** Delta only: names subscribed again although already subscribed (the client may have forgotten them). */
  resubscribed: string[];
  removed: string[];
  wildcardAdded: boolean;
  wildcardRemoved: boolean;
}

export class Subscription {
  wildcard = false;
  /** Explicitly named resources, never "*". */
  readonly names = new Set<string>();
  /** Whether any request has named a resource (or "*"); ends legacy wildcard semantics. */
  private explicit = false;

  constructor(private readonly typeUrl: string) {}

  get wildcardType(): boolean {
    return WILDCARD_TYPES.has(this.typeUrl);
  }

  /** The client wants this resource (by wildcard or by name). */
  includes(name: string): boolean {
    return this.wildcard || this.names.has(name);
  }

  /** SotW: every request carries the full list of names. */
  replace(requested: readonly string[]): SubscriptionChange {
    if (requested.length === 0 && !this.explicit && this.wildcardType) return this.setWildcard(true, []);
    if (requested.length > 0) this.explicit = true;
    const next = new Set(requested);
    const wildcard = next.delete(WILDCARD) && this.wildcardType;
    const added = [...next].filter((n) => !this.names.has(n));
    const removed = [...this.names].filter((n) => !next.has(n));
    for (const n of removed) this.names.delete(n);
    for (const n of added) this.names.add(n);
    return this.setWildcard(wildcard, added, removed);
  }

  /** Delta: requests carry only changes. `first` is the type's first request on the stream. */
  update(subscribe: readonly string[], unsubscribe: readonly string[], first: boolean): SubscriptionChange {
    if (first && subscribe.length === 0 && unsubscribe.length === 0 && this.wildcardType) {
      return this.setWildcard(true, []);
    }
    let wildcard = this.wildcard;
    const added: string[] = [];
    const resubscribed: string[] = [];
    const removed: string[] = [];
    for (const n of subscribe) {
      this.explicit = true;
      if (n === WILDCARD && this.wildcardType) wildcard = true;
      else if (n === WILDCARD) continue;
      else if (this.names.has(n)) resubscribed.push(n);
      else {
        this.names.add(n);
        added.push(n);
      }
    }
    for (const n of unsubscribe) {
      if (n === WILDCARD) wildcard = false;
      else if (this.names.delete(n)) removed.push(n);
    }
    const change = this.setWildcard(wildcard, added, removed);
    change.resubscribed = resubscribed;
    // Re-subscribing "*" explicitly asks for the whole set again, like any subscribe.
    if (subscribe.includes(WILDCARD) && this.wildcardType && !first) change.wildcardAdded = true;
    return change;
  }

  /** For status: "*" alone, the names, or "*" followed by the names. */
  describe(): string[] | '*' {
    const names = [...this.names].sort();
    if (!this.wildcard) return names;
    return names.length ? [WILDCARD, ...names] : WILDCARD;
  }

  private setWildcard(on: boolean, added: string[], removed: string[] = []): SubscriptionChange {
    const change = {
      added,
      resubscribed: [] as string[],
      removed,
      wildcardAdded: on && !this.wildcard,
      wildcardRemoved: !on && this.wildcard,
    };
    this.wildcard = on;
    return change;
  }
}
