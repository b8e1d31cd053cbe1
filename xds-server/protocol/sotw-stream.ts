// State-of-the-world ADS (StreamAggregatedResources). Every response of a type
// carries the full set of that type the client subscribes to; for Listener and
// Cluster a resource left out is deleted, for the other types leaving one out
// is a no-op (the client drops them when their parents stop naming them).
import { TypeUrl, WILDCARD_TYPES, type EncodedResource } from '../types.ts';
import type { DiscoveryRequest } from './ads-service.ts';
import { contentVersion } from '../set-version.ts';
import { AdsStream } from './stream-core.ts';
import type { TypeState } from './type-state.ts';
import { encodeSotwResponse } from './wire.ts';
import { forceRewarm } from './rewarm.ts';

type State = TypeState<EncodedResource>;

export class SotwStream extends AdsStream<EncodedResource> {
  /** The version_info a type's first request presented (a reconnecting client's last ACKed version). */
  private readonly presented = new Map<State, string>();

  protected handleRequest(raw: unknown): void {
    const req = raw as DiscoveryRequest;
    this.identify(req.node);
    const st = this.stateFor(req.type_url);
    const verdict = st.verdict(req.response_nonce);
    // A request whose nonce is not our latest for the type was written before
    // the client saw that response; its newer request will supersede it.
    if (verdict === 'stale') return;
    if (verdict === 'answer') this.logAnswer(st, st.recordAnswer(req.error_detail));

    const first = !st.requested;
    st.requested = true;
    const change = st.sub.replace(req.resource_names ?? []);
    if (first) {
      if (req.version_info) this.presented.set(st, req.version_info);
      // A wildcard subscriber waits for its first response (Envoy's initial
      // fetch), so it gets one even when the node has nothing of this type.
      st.forceAll = st.sub.wildcard;
      st.dirty = true;
      this.tellCache(st);
      return;
    }
    for (const n of change.added) st.forced.add(n);
    if (change.wildcardAdded) st.forceAll = true;
    if (change.added.length || change.removed.length || change.wildcardAdded || change.wildcardRemoved) {
      st.dirty = true;
      if (change.added.length || change.removed.length) this.tellCache(st);
    }
  }

  protected plan(st: State): Buffer | null {
    const { all, content } = this.covered(st);
    const forced = st.forceAll ? null : new Set(st.forced);
    st.forced.clear();
    st.forceAll = false;

    const presented = this.presented.get(st);
    if (presented !== undefined) {
      this.presented.delete(st);
      // Reconnect: the client already holds exactly this content.
      if (st.nonceSent === undefined && contentVersion(content) === presented) {
        for (const r of content) st.client.set(r.name, r);
        st.versionAcked = presented;
        return null;
      }
    }

    const changed = forced === null || content.some((r) => st.client.get(r.name)?.version !== r.version || forced.has(r.name));
    // For Listener and Cluster, a resource the client holds and still wants but
    // that is gone from the content is deleted by leaving it out.
    const omissionDeletes = WILDCARD_TYPES.has(st.typeUrl);
    const dropped: EncodedResource[] = [];
    for (const [name, r] of st.client) {
      if (!st.sub.includes(name)) st.client.delete(name); // unsubscribed: the client forgets it itself
      else if (omissionDeletes && !all.has(name)) dropped.push(r);
    }
    // Make before break: keep sending dropped clusters until dependents settle.
    st.held = dropped.length > 0 && !this.mayRemove(st);
    if (!changed && (dropped.length === 0 || st.held)) return null;

    const resources = st.held ? content.concat(dropped) : content;
    const version = contentVersion(resources);
    const nonce = this.nextNonce();
    if (st.typeUrl === TypeUrl.Cluster) forceRewarm(this.state(TypeUrl.Endpoint), st.client, content, (r) => r.version);
    if (!st.held) for (const r of dropped) st.client.delete(r.name);
    for (const r of content) if (st.client.get(r.name) !== r) st.client.set(r.name, r);
    st.versionSent = version;
    st.nonceSent = nonce;
    return encodeSotwResponse({ versionInfo: version, typeUrl: st.typeUrl, nonce, resources });
  }
}
