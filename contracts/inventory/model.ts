// The inventory model every component shares: what mesh.yaml describes
// (see docs/fixture-format.md), after validation and defaulting.

export type Protocol = 'http' | 'http2' | 'grpc' | 'tcp';
export const PROTOCOLS: readonly Protocol[] = ['http', 'http2', 'grpc', 'tcp'];

/** `NAME.NAMESPACE` of a service. */
export type ServiceId = string;
/** `POD.NAMESPACE` of a workload. */
export type WorkloadId = string;

export interface ServicePort {
  port: number;
  targetPort: number;
  protocol: Protocol;
}

export interface Workload {
  id: WorkloadId;
  name: string;
  namespace: string;
  address: string;
  labels: Readonly<Record<string, string>>;
  /** The service this workload was declared under: its identity as a caller. */
  service: ServiceId;
}

export interface Service {
  id: ServiceId;
  name: string;
  namespace: string;
  /** `name.namespace.svc.<clusterDomain>` */
  fqdn: string;
  clusterIP?: string;
  ports: readonly ServicePort[];
  workloads: readonly Workload[];
}

export interface MeshSpec {
  clusterDomain: string;
  services: readonly Service[];
}

export function serviceId(name: string, namespace: string): ServiceId {
  return `${name}.${namespace}`;
}

/** Splits `a.b` ids; the namespace is the last label, names are DNS labels. */
export function splitId(id: string): { name: string; namespace: string } {
  const dot = id.lastIndexOf('.');
  if (dot <= 0) return { name: id, namespace: 'default' };
  return { name: id.slice(0, dot), namespace: id.slice(dot + 1) };
}
