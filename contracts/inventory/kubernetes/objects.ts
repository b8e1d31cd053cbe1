// The few fields of each Kubernetes/Istio object the inventory reads. Informers
// keep these trimmed copies, not the API objects: at 50k pods the difference is
// most of the memory.

export interface Meta {
  namespace: string;
  name: string;
  resourceVersion: string;
}

export interface NamespaceObj extends Meta {
  labels: Readonly<Record<string, string>>;
}

export interface ServicePortObj {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}

export interface ServiceObj extends Meta {
  clusterIP?: string;
  type?: string;
  selector?: Readonly<Record<string, string>>;
  ports: readonly ServicePortObj[];
}

export interface SliceEndpoint {
  addresses: readonly string[];
  ready: boolean;
  /** `namespace/name` of the Pod it points at. */
  pod?: string;
}

export interface EndpointSliceObj extends Meta {
  /** The kubernetes.io/service-name label. */
  service?: string;
  ports: ReadonlyArray<{ name?: string; port?: number }>;
  endpoints: readonly SliceEndpoint[];
}

export interface PodObj extends Meta {
  labels: Readonly<Record<string, string>>;
  ip?: string;
  serviceAccount?: string;
  /** The controller owner reference. */
  owner?: { kind: string; name: string };
  /** Succeeded/Failed pods no longer call anyone. */
  finished: boolean;
  hostNetwork: boolean;
}

export interface ServiceEntryObj extends Meta {
  hosts: readonly string[];
  addresses: readonly string[];
  ports: ReadonlyArray<{ number: number; name?: string; protocol?: string; targetPort?: number }>;
  endpoints: readonly string[];
  workloadSelector?: Readonly<Record<string, string>>;
}

export const key = (o: { namespace: string; name: string }): string => (o.namespace ? `${o.namespace}/${o.name}` : o.name);

// ---- trimming the API objects ---------------------------------------------

type Raw = Record<string, any>;

function meta(o: Raw): Meta {
  const m = o.metadata ?? {};
  return { namespace: m.namespace ?? '', name: m.name ?? '', resourceVersion: m.resourceVersion ?? '' };
}

function labels(o: Raw): Record<string, string> {
  return { ...(o.metadata?.labels ?? {}) };
}

export function trimNamespace(o: Raw): NamespaceObj {
  return { ...meta(o), labels: labels(o) };
}

export function trimService(o: Raw): ServiceObj {
  const s = o.spec ?? {};
  return {
    ...meta(o),
    clusterIP: s.clusterIP && s.clusterIP !== 'None' ? s.clusterIP : undefined,
    type: s.type,
    selector: s.selector && Object.keys(s.selector).length ? { ...s.selector } : undefined,
    ports: (s.ports ?? []).map((p: Raw) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: p.protocol, appProtocol: p.appProtocol })),
  };
}

export function trimEndpointSlice(o: Raw): EndpointSliceObj {
  return {
    ...meta(o),
    service: o.metadata?.labels?.['kubernetes.io/service-name'],
    ports: (o.ports ?? []).map((p: Raw) => ({ name: p.name ?? undefined, port: p.port ?? undefined })),
    endpoints: (o.endpoints ?? []).map((e: Raw) => ({
      addresses: e.addresses ?? [],
      // Absent conditions mean ready (the API's own reading).
      ready: e.conditions?.ready !== false,
      pod: e.targetRef?.kind === 'Pod' ? `${e.targetRef.namespace ?? o.metadata?.namespace}/${e.targetRef.name}` : undefined,
    })),
  };
}

export function trimPod(o: Raw): PodObj {
  const owner = (o.metadata?.ownerReferences ?? []).find((r: Raw) => r.controller) as Raw | undefined;
  const phase = o.status?.phase;
  return {
    ...meta(o),
    labels: labels(o),
    ip: o.status?.podIP || undefined,
    serviceAccount: o.spec?.serviceAccountName || 'default',
    owner: owner ? { kind: owner.kind, name: owner.name } : undefined,
    finished: phase === 'Succeeded' || phase === 'Failed',
    hostNetwork: o.spec?.hostNetwork === true,
  };
}

export function trimServiceEntry(o: Raw): ServiceEntryObj {
  const s = o.spec ?? {};
  return {
    ...meta(o),
    hosts: s.hosts ?? [],
    addresses: s.addresses ?? [],
    ports: (s.ports ?? []).map((p: Raw) => ({ number: p.number, name: p.name, protocol: p.protocol, targetPort: p.targetPort })),
    endpoints: (s.endpoints ?? []).map((e: Raw) => e.address).filter((a: unknown) => typeof a === 'string'),
    workloadSelector: s.workloadSelector?.labels ? { ...s.workloadSelector.labels } : undefined,
  };
}
