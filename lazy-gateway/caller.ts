// Who called: the gateway must name the caller of every forwarded request, or
// the analyzer cannot learn the edge. Strongest evidence first.
import { splitId, type Inventory, type ServiceId } from '../contracts/inventory/index.ts';
import type { RequestHead } from './headers.ts';

export type IdentifiedBy = 'source-header' | 'envoy-header' | 'peer-ip' | 'none';

export interface Caller {
  /** A workload `POD.NS` or a service `SVC.NS`; empty when unknown. */
  id: string;
  /** The caller's service, for metric labels (bounded cardinality). */
  service: ServiceId | '';
  /** Short authorities resolve in this namespace. */
  namespace: string;
  by: IdentifiedBy;
}

const UNKNOWN: Readonly<Caller> = Object.freeze({ id: '', service: '', namespace: 'default', by: 'none' });

export function identifyCaller(inventory: Inventory, head: RequestHead, remoteAddress: string): Readonly<Caller> {
  if (head.source) {
    // Set by the xDS catch-all route; an id outside the inventory is still reported as given.
    const known = lookup(inventory, head.source);
    if (known) return { ...known, by: 'source-header' };
    return { id: head.source, service: '', namespace: splitId(head.source).namespace, by: 'source-header' };
  }
  if (head.serviceCluster) {
    const known = lookup(inventory, head.serviceCluster);
    if (known) return { ...known, by: 'envoy-header' };
  }
  if (head.peerId) {
    const known = lookup(inventory, head.peerId);
    if (known) return { ...known, by: 'envoy-header' };
  }
  const w = inventory.workloadByAddress(remoteAddress);
  if (w) return { id: w.id, service: w.service, namespace: w.namespace, by: 'peer-ip' };
  return UNKNOWN;
}

/** A workload id, a service id, or an Istio node id (`sidecar~IP~POD.NS~...`). */
function lookup(inventory: Inventory, value: string): Omit<Caller, 'by'> | undefined {
  const w = inventory.workload(value) ?? (value.includes('~') ? inventory.workloadForNode({ id: value }) : undefined);
  if (w) return { id: w.id, service: w.service, namespace: w.namespace };
  const s = inventory.service(value);
  if (s) return { id: s.id, service: s.id, namespace: s.namespace };
  return undefined;
}
