// XdsNode values as the protocol engine hands them to the cache.
import type { XdsNode } from '../../../xds-server/types.ts';

export function envoyNode(workload: string, metadata: Record<string, unknown> = {}, ip = '10.9.9.9'): XdsNode {
  const ns = workload.slice(workload.lastIndexOf('.') + 1);
  return { id: `sidecar~${ip}~${workload}~${ns}.svc.cluster.local`, metadata, profile: 'envoy' };
}

export function grpcNode(workload: string): XdsNode {
  const dot = workload.lastIndexOf('.');
  return {
    id: `sidecar~10.9.9.8~${workload}~${workload.slice(dot + 1)}.svc.cluster.local`,
    metadata: { NAME: workload.slice(0, dot), NAMESPACE: workload.slice(dot + 1) },
    profile: 'grpc',
  };
}

/** Lets queued change notifications (delivered in a microtask) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
