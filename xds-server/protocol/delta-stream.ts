// Incremental ADS (DeltaAggregatedResources). Responses carry only resources
// whose version the client lacks, plus removed_resources for names it holds
// (or subscribed to) that do not exist. Subscription changes are honoured
// even on a stale nonce; only the ACK/NACK itself is tied to the latest nonce.
import { TypeUrl } from '../types.ts';
import type { DeltaDiscoveryRequest } from './ads-service.ts';
import { contentVersion } from '../set-version.ts';
import { forceRewarm } from './rewarm.ts';
import { AdsStream } from './stream-core.ts';
import type { TypeState } from './type-state.ts';
import { encodeDeltaResponse } from './wire.ts';

/** Per resource the client holds: its version. */
type State = TypeState<string>;

export class DeltaStream extends AdsStream<string> {
  protected handleRequest(raw: unknown): void {
    const req = raw as DeltaDiscoveryRequest;
    this.identify(req.node);
    const st = this.stateFor(req.type_url);
    if (st.verdict(req.response_nonce) === 'answer') this.logAnswer(st, st.recordAnswer(req.error_detail));

    const first = !st.requested;
    st.requested = true;
    const initial = first ? Object.entries(req.initial_resource_versions ?? {}) : [];
    for (const [name, version] of initial) st.client.set(name, version);
    const change = st.sub.update(req.resource_names_subscribe ?? [], req.resource_names_unsubscribe ?? [], first);

    // Names subscribed now must be sent (or reported removed) even if the client
    // seems to hold them — except what a reconnecting client listed in
    // initial_resource_versions, where the version comparison decides.
    for (const n of [...change.added, ...change.resubscribed]) if (!(first && st.client.has(n))) st.forced.add(n);
    for (const n of change.removed) {
      if (st.sub.wildcard) st.forced.add(n); // must say whether the wildcard still covers it
      else {
        st.client.delete(n);
        st.forced.delete(n);
      }
    }
    if (change.wildcardAdded && (!first || initial.length === 0)) st.forceAll = true;
    if (first || change.added.length || change.resubscribed.length || change.removed.length || change.wildcardAdded || change.wildcardRemoved) {
      st.dirty = true;
    }
    if (first || change.added.length || change.removed.length) this.tellCache(st);
  }

  protected plan(st: State): Buffer | null {
    const { all, content } = this.covered(st);
    const forceAll = st.forceAll;
    const forced = new Set(st.forced);
    st.forced.clear();
    st.forceAll = false;

    const updates = forceAll ? content : content.filter((r) => forced.has(r.name) || st.client.get(r.name) !== r.version);
    const removed: string[] = [];
    let withheld = false;
    const releasing = this.mayRemove(st);
    for (const name of st.client.keys()) {
      if (!st.sub.includes(name)) st.client.delete(name); // unsubscribed: forgotten, no response needed
      else if (!all.has(name)) {
        if (releasing) removed.push(name);
        else withheld = true;
      }
    }
    // Subscribed names that do not exist and the client never had: say so.
    for (const name of forced) if (!all.has(name) && !st.client.has(name)) removed.push(name);
    st.held = withheld;
    if (!forceAll && updates.length === 0 && removed.length === 0) return null;

    const version = contentVersion(content);
    const nonce = this.nextNonce();
    if (st.typeUrl === TypeUrl.Cluster) forceRewarm(this.state(TypeUrl.Endpoint), st.client, updates, (v) => v);
    for (const r of updates) st.client.set(r.name, r.version);
    for (const name of removed) st.client.delete(name);
    st.versionSent = version;
    st.nonceSent = nonce;
    return encodeDeltaResponse({ systemVersionInfo: version, typeUrl: st.typeUrl, nonce, resources: updates, removed });
  }
}
