// Who called: the gateway must name the caller of every forwarded request, or
// the analyzer cannot learn the edge — and whoever it names gets a bigger
// scope, so a name is believed only from someone entitled to give it:
//   1. a peer address that is an inventory workload decides; identity headers
//      may agree with it, never contradict it (403, counted);
//   2. otherwise identity headers count only from a trusted proxy (--trusted-proxies),
//      and a verified SPIFFE identity (x-forwarded-client-cert) bounds them;
//   3. from anyone else they are ignored (counted) and the caller is unknown.
import { splitId, type Inventory, type ServiceId, type Workload } from '../contracts/inventory/index.ts';
import type { RequestHead } from './headers.ts';
import type { Metrics } from './metrics.ts';
import { Rejection } from './route.ts';
import type { TrustedPeers } from '../contracts/trusted-peers.ts';
import { xfccIdentity, type SpiffeIdentity } from './xfcc.ts';

export type IdentifiedBy = 'peer-ip' | 'source-header' | 'envoy-header' | 'client-cert' | 'none';

export interface Caller {
  /** A workload `POD.NS` or a service `SVC.NS`; empty when unknown. */
  id: string;
  /** The caller's service, for metric labels (bounded cardinality). */
  service: ServiceId | '';
  /** Short authorities resolve in this namespace. */
  namespace: string;
  by: IdentifiedBy;
  /** Set when the request's identity headers contradict what the gateway knows: it is refused. */
  refusal?: Rejection;
}

const UNKNOWN: Readonly<Caller> = Object.freeze({ id: '', service: '', namespace: 'default', by: 'none' });
export const IDENTITY_MISMATCH = 'caller-identity-mismatch';

/** The service account a workload runs as, once the inventory carries it (Kubernetes); undefined before. */
export class Callers {
  /** Callers named by a client certificate alone, per inventory version. */
  private byCert = new WeakMap<Inventory, Map<string, Readonly<Caller>>>();

  constructor(
    private readonly trusted: TrustedPeers,
    private readonly metrics: Metrics,
  ) {}

  identify(inventory: Inventory, head: RequestHead, remoteAddress: string): Readonly<Caller> {
    const peer = inventory.workloadByAddress(remoteAddress);
    const claims = head.source !== '' || head.serviceCluster !== '' || head.peerId !== '' || head.clientCert !== '';
    if (peer) {
      const caller: Caller = { id: peer.id, service: peer.service, namespace: peer.namespace, by: 'peer-ip' };
      if (claims) {
        const conflict = this.contradiction(inventory, head, peer);
        if (conflict) {
          caller.refusal = new Rejection(403, IDENTITY_MISMATCH, `the caller at ${remoteAddress} is workload ${peer.id} by its address, but ${conflict}; a workload cannot speak for another`);
        }
      }
      return caller;
    }
    if (!claims) return UNKNOWN;
    if (!this.trusted.has(remoteAddress)) {
      // Anyone can type a header: from an address that is neither a workload nor a trusted proxy it names no one.
      if (head.source) this.metrics.identityIgnored('x-meshscope-source');
      if (head.clientCert) this.metrics.identityIgnored('x-forwarded-client-cert');
      if (head.serviceCluster) this.metrics.identityIgnored('x-envoy-downstream-service-cluster');
      if (head.peerId) this.metrics.identityIgnored('x-envoy-peer-metadata-id');
      return UNKNOWN;
    }
    return this.fromTrustedProxy(inventory, head, remoteAddress);
  }

  private fromTrustedProxy(inventory: Inventory, head: RequestHead, remoteAddress: string): Readonly<Caller> {
    let caller: Caller | undefined;
    let claim = '';
    if (head.source) {
      // Set by the xDS catch-all route; an id outside the inventory is still reported as given.
      const known = lookup(inventory, head.source);
      caller = known ? { ...known, by: 'source-header' } : { id: head.source, service: '', namespace: splitId(head.source).namespace, by: 'source-header' };
      claim = `x-meshscope-source names ${head.source}`;
    } else {
      const known = (head.serviceCluster && lookup(inventory, head.serviceCluster)) || (head.peerId && lookup(inventory, head.peerId)) || undefined;
      if (known) {
        caller = { ...known, by: 'envoy-header' };
        claim = `the Envoy headers name ${known.id}`;
      }
    }
    const cert = head.clientCert ? xfccIdentity(head.clientCert) : undefined;
    if (!cert) return caller ?? UNKNOWN;
    if (!caller) return this.fromCert(inventory, cert);
    if (!agreesWithCert(inventory, caller, cert)) {
      caller.refusal = new Rejection(
        403,
        IDENTITY_MISMATCH,
        `the caller's verified identity is ${spiffeId(cert)} (x-forwarded-client-cert from ${remoteAddress}), but ${claim}; a workload cannot speak for another`,
      );
    }
    return caller;
  }

  /** Whether any identity header names someone other than the peer workload; says which when it does. */
  private contradiction(inventory: Inventory, head: RequestHead, peer: Workload): string | undefined {
    const isPeer = (c: Omit<Caller, 'by'> | undefined) => c !== undefined && (c.id === peer.id || c.id === peer.service);
    // x-meshscope-source is a claim: it must name the peer or its service.
    if (head.source && !isPeer(lookup(inventory, head.source))) return `x-meshscope-source names ${head.source}`;
    // The Envoy headers are hints: only one that names another known caller contradicts.
    for (const [name, value] of [['x-envoy-downstream-service-cluster', head.serviceCluster], ['x-envoy-peer-metadata-id', head.peerId]] as const) {
      const known = value ? lookup(inventory, value) : undefined;
      if (known && !isPeer(known)) return `${name} names ${known.id}`;
    }
    if (head.clientCert) {
      const cert = xfccIdentity(head.clientCert);
      const account = peer.serviceAccount;
      if (cert && (cert.namespace !== peer.namespace || (account !== undefined && account !== cert.serviceAccount))) {
        return `x-forwarded-client-cert names ${spiffeId(cert)}`;
      }
    }
    return undefined;
  }

  /** A caller known only by its certificate: its namespace, and its service when the service account names one. */
  private fromCert(inventory: Inventory, cert: SpiffeIdentity): Readonly<Caller> {
    let cache = this.byCert.get(inventory);
    if (!cache) this.byCert.set(inventory, (cache = new Map()));
    const key = `${cert.namespace}/${cert.serviceAccount}`;
    let caller = cache.get(key);
    if (caller) return caller;
    const services = new Set<ServiceId>();
    for (const w of inventory.workloads()) {
      if (w.namespace === cert.namespace && w.serviceAccount === cert.serviceAccount) services.add(w.service);
    }
    const [only] = services;
    caller = Object.freeze(
      services.size === 1 ? { id: only, service: only, namespace: cert.namespace, by: 'client-cert' as const } : { id: '', service: '' as const, namespace: cert.namespace, by: 'client-cert' as const },
    );
    if (cache.size < 1024) cache.set(key, caller);
    return caller;
  }
}

function spiffeId(cert: SpiffeIdentity): string {
  return `spiffe://${cert.trustDomain}/ns/${cert.namespace}/sa/${cert.serviceAccount}`;
}

/** Same namespace, and a service account that matches wherever the inventory knows one. */
function agreesWithCert(inventory: Inventory, caller: Caller, cert: SpiffeIdentity): boolean {
  if (caller.namespace !== cert.namespace) return false;
  const w = inventory.workload(caller.id);
  const accounts = w ? [w.serviceAccount] : (inventory.service(caller.id)?.workloads ?? []).map((x) => x.serviceAccount);
  const known = accounts.filter((a) => a !== undefined);
  return known.length === 0 || known.includes(cert.serviceAccount);
}

/** A workload id, a service id, or an Istio node id (`sidecar~IP~POD.NS~...`). */
function lookup(inventory: Inventory, value: string): Omit<Caller, 'by'> | undefined {
  const w = inventory.workload(value) ?? (value.includes('~') ? inventory.workloadForNode({ id: value }) : undefined);
  if (w) return { id: w.id, service: w.service, namespace: w.namespace };
  const s = inventory.service(value);
  if (s) return { id: s.id, service: s.id, namespace: s.namespace };
  return undefined;
}
