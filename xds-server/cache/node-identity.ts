// Who a node is when the inventory does not (yet) know its workload: the
// Istio node id `sidecar~IP~POD.NS~NS.svc.cluster.local`, or metadata.
import type { Workload } from '../../contracts/index.ts';
import type { XdsNode } from '../types.ts';

function istioParts(id: string): string[] | undefined {
  const parts = id.split('~');
  return parts.length === 4 ? parts : undefined;
}

/** `POD.NS` for the catch-all header and observations. */
export function sourceOf(node: XdsNode, workload: Workload | undefined): string {
  if (workload) return workload.id;
  const md = node.metadata;
  if (typeof md.NAME === 'string' && typeof md.NAMESPACE === 'string') return `${md.NAME}.${md.NAMESPACE}`;
  return istioParts(node.id)?.[2] ?? node.id;
}

export function addressOf(node: XdsNode): string | undefined {
  return istioParts(node.id)?.[1];
}

/** The namespace short names resolve in. */
export function namespaceOf(node: XdsNode, workload: Workload | undefined): string {
  if (workload) return workload.namespace;
  if (typeof node.metadata.NAMESPACE === 'string' && node.metadata.NAMESPACE) return node.metadata.NAMESPACE;
  const pod = istioParts(node.id)?.[2];
  const dot = pod?.lastIndexOf('.') ?? -1;
  return pod && dot > 0 ? pod.slice(dot + 1) : 'default';
}
