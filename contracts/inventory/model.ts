// The inventory model every component shares: what mesh.yaml describes
// (see ../shared/spec/fixture-format.md), after validation and defaulting, or
// what the Kubernetes source maps from the API server (kubernetes/README.md).
import type { AuthorizationPolicy } from './authorization.ts';

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
  /** Kubernetes service account: the caller's Istio identity is `<trust domain>/ns/NAMESPACE/sa/SERVICE_ACCOUNT`. */
  serviceAccount?: string;
  /** The controller that owns the pod, e.g. a Deployment through its ReplicaSet: the pods one workloadSelector can name. */
  owner?: WorkloadOwner;
}

export interface WorkloadOwner {
  kind: string;
  name: string;
}

/**
 * Where a service comes from when it is not a plain (Kubernetes or mesh.yaml) Service:
 * - `ServiceEntry`: an Istio ServiceEntry host; its fqdn is the host itself.
 * - `WorkloadGroup`: pods no Service selects (a load generator, a cron job). A caller
 *   identity only: no ports, no host name resolves to it, nothing calls it.
 */
export type ServiceKind = 'ServiceEntry' | 'WorkloadGroup';

export interface Service {
  id: ServiceId;
  name: string;
  namespace: string;
  /** `name.namespace.svc.<clusterDomain>` */
  fqdn: string;
  clusterIP?: string;
  ports: readonly ServicePort[];
  /**
   * The pods behind the service. A pod several Services select is listed under each
   * (same Workload object); its `service` names the one it calls as.
   */
  workloads: readonly Workload[];
  /** Absent for a plain Service. */
  kind?: ServiceKind;
}

export interface MeshSpec {
  clusterDomain: string;
  services: readonly Service[];
  /** Istio AuthorizationPolicies (from Kubernetes; mesh.yaml carries none). */
  authorizationPolicies?: readonly AuthorizationPolicy[];
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
