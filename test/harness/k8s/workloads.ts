// Writes what a kubelet and the EndpointSlice controller would (there are
// neither): namespaces, service accounts, Services, Pods with an IP in their
// status, and EndpointSlices pointing at them. Used by the inventory tests and
// bench/k8s-inventory.ts; `concurrently` is how bulk writes stay fast.
import type { ApiServer } from "./apiserver.ts";

export interface PodSpec {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ip: string;
  serviceAccount?: string;
  /** The controller owner, e.g. {kind: "ReplicaSet", name: "reviews-v1-5d9f8c7b6"}. */
  owner?: { kind: string; name: string; apiVersion?: string };
}

export interface ServiceSpec {
  namespace: string;
  name: string;
  selector?: Record<string, string>;
  ports: Array<{ name?: string; port: number; targetPort?: number | string }>;
  labels?: Record<string, string>;
}

async function ok(res: Promise<{ status: number; body: any }>, what: string, allow: number[] = []): Promise<any> {
  const r = await res;
  if ((r.status < 200 || r.status > 299) && !allow.includes(r.status)) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)?.slice(0, 400)}`);
  return r.body;
}

export async function createNamespace(api: ApiServer, name: string, labels: Record<string, string> = {}): Promise<void> {
  await ok(api.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } }), `namespace ${name}`, [409]);
  // No controller manager: the default service account is ours to create (pod admission needs it).
  await ok(
    api.request("POST", `/api/v1/namespaces/${name}/serviceaccounts`, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } }),
    `serviceaccount ${name}/default`,
    [409],
  );
}

export async function createServiceAccount(api: ApiServer, namespace: string, name: string): Promise<void> {
  await ok(api.request("POST", `/api/v1/namespaces/${namespace}/serviceaccounts`, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name } }), `serviceaccount ${namespace}/${name}`, [409]);
}

export async function createService(api: ApiServer, s: ServiceSpec): Promise<{ clusterIP: string }> {
  const body = await ok(
    api.request("POST", `/api/v1/namespaces/${s.namespace}/services`, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: s.name, labels: s.labels ?? {} },
      spec: { selector: s.selector, ports: s.ports.map((p) => ({ protocol: "TCP", ...p })) },
    }),
    `service ${s.namespace}/${s.name}`,
  );
  return { clusterIP: body.spec.clusterIP };
}

/** Creates the pod, then sets its status (phase Running, podIP) as a kubelet would. */
export async function createPod(api: ApiServer, p: PodSpec): Promise<void> {
  const ownerReferences = p.owner
    ? [{ apiVersion: p.owner.apiVersion ?? "apps/v1", kind: p.owner.kind, name: p.owner.name, uid: `uid-${p.owner.name}`, controller: true }]
    : undefined;
  await ok(
    api.request("POST", `/api/v1/namespaces/${p.namespace}/pods`, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: p.name, labels: p.labels, ownerReferences },
      spec: { serviceAccountName: p.serviceAccount ?? "default", automountServiceAccountToken: false, containers: [{ name: "app", image: "app" }] },
    }),
    `pod ${p.namespace}/${p.name}`,
  );
  await ok(
    api.request(
      "PATCH",
      `/api/v1/namespaces/${p.namespace}/pods/${p.name}/status`,
      { status: { phase: "Running", podIP: p.ip, podIPs: [{ ip: p.ip }] } },
      "application/merge-patch+json",
    ),
    `pod ${p.namespace}/${p.name} status`,
  );
}

/** One EndpointSlice for a service, listing these pods (ready) on these ports. */
export async function putEndpointSlice(
  api: ApiServer,
  service: { namespace: string; name: string },
  pods: Array<{ name: string; ip: string }>,
  ports: Array<{ name?: string; port: number }>,
): Promise<void> {
  const name = `${service.name}-slice`;
  const body = {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, labels: { "kubernetes.io/service-name": service.name } },
    addressType: "IPv4",
    ports: ports.map((p) => ({ name: p.name ?? "", port: p.port, protocol: "TCP" })),
    endpoints: pods.map((p) => ({
      addresses: [p.ip],
      conditions: { ready: true },
      targetRef: { kind: "Pod", namespace: service.namespace, name: p.name },
    })),
  };
  const path = `/apis/discovery.k8s.io/v1/namespaces/${service.namespace}/endpointslices`;
  const created = await api.request("POST", path, body);
  if (created.status === 409) await ok(api.request("PUT", `${path}/${name}`, body), `endpointslice ${service.namespace}/${name}`);
  else if (created.status < 200 || created.status > 299) throw new Error(`endpointslice ${service.namespace}/${name}: HTTP ${created.status} ${JSON.stringify(created.body)}`);
}

/** Runs `task` over `items`, `limit` at a time; rejects on the first failure. */
export async function concurrently<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
