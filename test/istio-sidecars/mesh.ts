// Inventories built straight from the mesh model for the Sidecar writer's
// tests: services with Deployment-owned pods, as the Kubernetes source gives.
import { Inventory, type Service, type Workload } from '../../contracts/index.ts';

export interface DeploymentSpec {
  /** Deployment name, e.g. reviews-v1. */
  name: string;
  namespace: string;
  /** The Service its pods are declared under. */
  service: string;
  labels: Record<string, string>;
  replicas?: number;
  /** false: pods without a controller. */
  owned?: boolean;
}

let ip = 0;

export function pods(d: DeploymentSpec): Workload[] {
  return Array.from({ length: d.replicas ?? 1 }, (_, i) => {
    const n = ++ip;
    const pod = `${d.name}-5d8f9c-${i}x${n}`;
    return {
      id: `${pod}.${d.namespace}`,
      name: pod,
      namespace: d.namespace,
      address: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
      labels: { ...d.labels, 'pod-template-hash': '5d8f9c' },
      service: `${d.service}.${d.namespace}`,
      ...(d.owned === false ? {} : { owner: { kind: 'Deployment', name: d.name } }),
    };
  });
}

export function inventory(deployments: DeploymentSpec[], extraServices: Array<{ name: string; namespace: string }> = []): Inventory {
  const services = new Map<string, Service>();
  const svc = (name: string, namespace: string): Service => {
    const id = `${name}.${namespace}`;
    let s = services.get(id);
    if (!s) {
      s = { id, name, namespace, fqdn: `${name}.${namespace}.svc.cluster.local`, ports: [{ port: 9080, targetPort: 9080, protocol: 'http' }], workloads: [] };
      services.set(id, s);
    }
    return s;
  };
  for (const d of deployments) (svc(d.service, d.namespace).workloads as Workload[]).push(...pods(d));
  for (const e of extraServices) svc(e.name, e.namespace);
  return new Inventory({ clusterDomain: 'cluster.local', services: [...services.values()] });
}

export function bookinfo(ns: string): DeploymentSpec[] {
  return [
    { name: 'productpage-v1', namespace: ns, service: 'productpage', labels: { app: 'productpage', version: 'v1' }, replicas: 2 },
    { name: 'details-v1', namespace: ns, service: 'details', labels: { app: 'details', version: 'v1' } },
    { name: 'reviews-v1', namespace: ns, service: 'reviews', labels: { app: 'reviews', version: 'v1' } },
    { name: 'reviews-v2', namespace: ns, service: 'reviews', labels: { app: 'reviews', version: 'v2' }, replicas: 3 },
    { name: 'ratings-v1', namespace: ns, service: 'ratings', labels: { app: 'ratings', version: 'v1' } },
  ];
}
