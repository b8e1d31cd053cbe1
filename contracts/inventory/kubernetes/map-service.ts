// Kubernetes objects → inventory services and workloads.
//
// How a pod becomes a caller (Workload.service), decided once here:
// - Selected by one Service of its namespace: that Service.
// - Selected by several: the one named like the pod's canonical service
//   (label service.istio.io/canonical-name, else app.kubernetes.io/name, else
//   app — what Istio's telemetry calls the workload's service), else the
//   alphabetically first. The pod is still an endpoint of every Service whose
//   EndpointSlices list it; only its caller identity is single.
// - Selected by none (a load generator, a job): a WorkloadGroup, a service-less
//   caller named after the pod's controller (a Deployment through its
//   ReplicaSet, a StatefulSet, a DaemonSet, a Job; a bare pod by its own name).
//   It has no ports and no host names, so it is never a destination, but it has
//   a scope like any caller, and a Sidecar writer can name its pods by labels.
//   Should a real Service of that name exist, the group is `NAME-workloads`.
import { isIP } from 'node:net';
import type { Protocol, Service, ServicePort, Workload, WorkloadOwner } from '../model.ts';
import type { EndpointSliceObj, PodObj, ServiceEntryObj, ServiceObj, ServicePortObj } from './objects.ts';

/** Istio's protocol selection: appProtocol, else the port name's prefix (`http-web`, `grpc`); unnamed ports are taken as HTTP. */
export function protocolOf(name: string | undefined, appProtocol?: string): Protocol {
  const p = (appProtocol ?? name?.split('-')[0] ?? '').toLowerCase();
  if (p === 'http2' || p === 'h2c' || p === 'kubernetes.io/h2c') return 'http2';
  if (p === 'grpc') return 'grpc';
  if (['tcp', 'tls', 'https', 'mongo', 'mysql', 'redis', 'udp'].includes(p)) return 'tcp';
  return 'http';
}

/** The controller workload: a ReplicaSet's Deployment is its name minus the pod-template-hash suffix. */
export function ownerOf(pod: PodObj): WorkloadOwner | undefined {
  const o = pod.owner;
  if (!o) return undefined;
  const hash = pod.labels['pod-template-hash'];
  if (o.kind === 'ReplicaSet' && hash && o.name.endsWith(`-${hash}`)) return { kind: 'Deployment', name: o.name.slice(0, -hash.length - 1) };
  return { kind: o.kind, name: o.name };
}

export function selects(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return false;
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

/** The Service a pod calls as, among the Services of its namespace that select it (see the header). */
export function chooseCaller(pod: PodObj, selecting: readonly string[]): string | undefined {
  if (selecting.length === 0) return undefined;
  if (selecting.length === 1) return selecting[0];
  const l = pod.labels;
  const canonical = l['service.istio.io/canonical-name'] ?? l['app.kubernetes.io/name'] ?? l.app;
  if (canonical && selecting.includes(canonical)) return canonical;
  return [...selecting].sort()[0];
}

/** The WorkloadGroup name of a pod no Service selects. */
export function groupName(pod: PodObj, taken: (name: string) => boolean): string {
  const base = ownerOf(pod)?.name ?? pod.name;
  return taken(base) ? `${base}-workloads` : base;
}

export function workloadOf(pod: PodObj, service: string): Workload {
  const w: Workload = {
    id: `${pod.name}.${pod.namespace}`,
    name: pod.name,
    namespace: pod.namespace,
    address: pod.ip!,
    labels: pod.labels,
    service,
  };
  if (pod.serviceAccount) w.serviceAccount = pod.serviceAccount;
  const owner = ownerOf(pod);
  if (owner) w.owner = owner;
  return w;
}

export interface PodLookup {
  /** A pod by `namespace/name`, with its workload (undefined when it has no IP yet or has finished). */
  byKey(key: string): Workload | undefined;
  byIp(ip: string): Workload | undefined;
}

function servicePorts(svc: ServiceObj, slices: readonly EndpointSliceObj[]): ServicePort[] {
  const out: ServicePort[] = [];
  for (const p of svc.ports) {
    if (p.protocol && p.protocol !== 'TCP') continue;
    out.push({ port: p.port, targetPort: targetPortOf(p, slices), protocol: protocolOf(p.name, p.appProtocol) });
  }
  return out;
}

/** A named targetPort is resolved through the EndpointSlices, which carry the number under the service port's name. */
function targetPortOf(p: ServicePortObj, slices: readonly EndpointSliceObj[]): number {
  if (typeof p.targetPort === 'number') return p.targetPort;
  if (typeof p.targetPort === 'string' && /^\d+$/.test(p.targetPort)) return Number(p.targetPort);
  for (const s of slices) for (const sp of s.ports) if ((sp.name ?? '') === (p.name ?? '') && sp.port) return sp.port;
  return p.port;
}

export function mapService(
  svc: ServiceObj,
  slices: readonly EndpointSliceObj[],
  members: readonly Workload[],
  pods: PodLookup,
  clusterDomain: string,
): Service {
  const id = `${svc.name}.${svc.namespace}`;
  const workloads = new Map<string, Workload>();
  for (const slice of slices) {
    for (const ep of slice.endpoints) {
      if (!ep.ready) continue;
      for (const ip of ep.addresses) {
        const w = (ep.pod ? pods.byKey(ep.pod) : undefined) ?? pods.byIp(ip);
        if (w && w.address === ip) workloads.set(w.id, w);
        else if (!w) {
          // An endpoint with no pod behind it (a VM, a manual slice): reachable, calls as this service.
          const name = `${svc.name}-${ip.replace(/[.:]/g, '-')}`;
          workloads.set(`${name}.${svc.namespace}`, { id: `${name}.${svc.namespace}`, name, namespace: svc.namespace, address: ip, labels: {}, service: id });
        }
      }
    }
  }
  for (const w of members) workloads.set(w.id, w);
  const service: Service = {
    id,
    name: svc.name,
    namespace: svc.namespace,
    fqdn: `${svc.name}.${svc.namespace}.svc.${clusterDomain}`,
    ports: servicePorts(svc, slices),
    workloads: [...workloads.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  };
  if (svc.clusterIP) service.clusterIP = svc.clusterIP;
  return service;
}

export function mapWorkloadGroup(name: string, namespace: string, members: readonly Workload[], clusterDomain: string): Service {
  return {
    id: `${name}.${namespace}`,
    name,
    namespace,
    fqdn: `${name}.${namespace}.svc.${clusterDomain}`,
    ports: [],
    workloads: [...members].sort((a, b) => (a.id < b.id ? -1 : 1)),
    kind: 'WorkloadGroup',
  };
}

/** The inventory id of one ServiceEntry host (hosts are FQDNs, so the id is `HOST.NAMESPACE`). */
export const serviceEntryId = (host: string, namespace: string): string => `${host.toLowerCase()}.${namespace}`;

/**
 * One ServiceEntry host → a service. Wildcard hosts are skipped (no one name
 * to resolve); endpoints come from spec.endpoints addresses and from the pods
 * its workloadSelector picks.
 */
export function mapServiceEntryHost(se: ServiceEntryObj, host: string, selected: readonly Workload[]): Service {
  const id = serviceEntryId(host, se.namespace);
  const ip = se.addresses.find((a) => !a.includes('/'));
  const workloads = new Map<string, Workload>();
  // DNS-name endpoints (resolution DNS) are not workloads: no address to know a caller by.
  se.endpoints.forEach((address, i) => {
    if (isIP(address) === 0) return;
    const name = `${se.name}-${i}`;
    workloads.set(`${name}.${se.namespace}`, { id: `${name}.${se.namespace}`, name, namespace: se.namespace, address, labels: {}, service: id });
  });
  for (const w of selected) workloads.set(w.id, w);
  const service: Service = {
    id,
    name: host.toLowerCase(),
    namespace: se.namespace,
    fqdn: host.toLowerCase(),
    ports: se.ports.map((p) => ({ port: p.number, targetPort: p.targetPort ?? p.number, protocol: protocolOf(p.protocol ?? p.name) })),
    workloads: [...workloads.values()],
    kind: 'ServiceEntry',
  };
  if (ip) service.clusterIP = ip;
  return service;
}
