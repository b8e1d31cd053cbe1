// Writes what a kubelet and the controllers would (there are none): namespaces,
// service accounts, Services, Deployments with their ReplicaSets, Pods with an
// IP and Ready in their status, and EndpointSlices pointing at them — over REST
// with the admin token, the one way every test and bench writes them (no
// kubectl process per object). Used by the inventory tests, the Istio cluster
// harness (istio-cluster.ts, pod.ts) and the benches; `concurrently` is how
// bulk writes stay fast.
import type { ApiServer } from "./apiserver.ts";

/** What these writes need of the API server harness. */
export type Kube = Pick<ApiServer, "request">;

const FIELD_MANAGER = "meshscope-harness";
export interface PodSpec {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ip: string;
  serviceAccount?: string;
  /** The controller owner, e.g. {kind: "ReplicaSet", name: "reviews-v1-5d9f8c7b6"}; uid made up unless given. */
  owner?: { kind: string; name: string; uid?: string; apiVersion?: string };
  /** Container names (default ["app"]); a pod with a sidecar has "istio-proxy" too. */
  containers?: string[];
}

export interface ServiceSpec {
  namespace: string;
  name: string;
  selector?: Record<string, string>;
  ports: Array<{ name?: string; port: number; targetPort?: number | string; appProtocol?: string }>;
  labels?: Record<string, string>;
}

async function ok(res: Promise<{ status: number; body: any }>, what: string, allow: number[] = []): Promise<any> {
  const r = await res;
  if ((r.status < 200 || r.status > 299) && !allow.includes(r.status)) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)?.slice(0, 400)}`);
  return r.body;
}

/**
 * Creates or updates a namespaced object by server-side apply (what `kubectl
 * apply --server-side` sends): the same call whether or not it exists yet.
 * Returns the object as stored (uid, clusterIP…).
 */
interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; [field: string]: unknown };
  [field: string]: unknown;
}

async function apply(kube: Kube, plural: string, obj: KubeObject): Promise<any> {
  const { name, namespace } = obj.metadata;
  const group = obj.apiVersion === "v1" ? "/api/v1" : `/apis/${obj.apiVersion}`;
  const path = `${group}/namespaces/${namespace}/${plural}/${name}?fieldManager=${FIELD_MANAGER}&force=true`;
  // JSON is YAML: the apply content type takes it as it is.
  return ok(kube.request("PATCH", path, obj, "application/apply-patch+yaml"), `${plural} ${namespace}/${name}`);
}

/** Creates a namespace (left as it is if it exists) and its default service account. */
export async function createNamespace(api: Kube, name: string, labels: Record<string, string> = {}): Promise<void> {
  await ok(api.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } }), `namespace ${name}`, [409]);
  // No controller manager: the default service account is ours to create (pod admission needs it).
  await createServiceAccount(api, name, "default");
}

export async function createServiceAccount(api: Kube, namespace: string, name: string): Promise<void> {
  await ok(api.request("POST", `/api/v1/namespaces/${namespace}/serviceaccounts`, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name } }), `serviceaccount ${namespace}/${name}`, [409]);
}

/** Creates or updates a Service; returns the clusterIP the API server gave it. */
export async function putService(api: Kube, s: ServiceSpec): Promise<{ clusterIP: string }> {
  const body = await apply(api, "services", {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: s.name, namespace: s.namespace, labels: s.labels ?? {} },
    spec: { selector: s.selector, ports: s.ports.map((p) => ({ protocol: "TCP", ...p })) },
  });
  return { clusterIP: body.spec.clusterIP };
}

/**
 * A Deployment and the ReplicaSet of one template hash it owns (real uids), as
 * the Deployment controller would leave them; returns the owner for the pods.
 */
export async function putReplicaSet(
  api: Kube,
  d: { namespace: string; deployment: string; hash: string; labels: Record<string, string> },
): Promise<NonNullable<PodSpec["owner"]>> {
  const { namespace, deployment, hash, labels } = d;
  const template = { metadata: { labels }, spec: { containers: [{ name: "app", image: "meshscope.test/app" }] } };
  const dep = await apply(api, "deployments", {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: deployment, namespace, labels },
    spec: { replicas: 1, selector: { matchLabels: labels }, template },
  });
  const name = `${deployment}-${hash}`;
  const rs = await apply(api, "replicasets", {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name,
      namespace,
      labels: { ...labels, "pod-template-hash": hash },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: deployment, uid: dep.metadata.uid, controller: true }],
    },
    spec: { replicas: 1, selector: { matchLabels: labels }, template },
  });
  return { kind: "ReplicaSet", name, uid: rs.metadata.uid };
}

/** Creates the pod, then sets its status (Running and Ready, podIP) as a kubelet would. */
export async function createPod(api: Kube, p: PodSpec): Promise<void> {
  const ownerReferences = p.owner
    ? [{ apiVersion: p.owner.apiVersion ?? "apps/v1", kind: p.owner.kind, name: p.owner.name, uid: p.owner.uid ?? `uid-${p.owner.name}`, controller: true }]
    : undefined;
  await apply(api, "pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels, ownerReferences },
    spec: {
      serviceAccountName: p.serviceAccount ?? "default",
      automountServiceAccountToken: false,
      containers: (p.containers ?? ["app"]).map((name) => ({ name, image: `meshscope.test/${name}` })),
    },
  });
  await ok(
    api.request(
      "PATCH",
      `/api/v1/namespaces/${p.namespace}/pods/${p.name}/status`,
      {
        status: {
          phase: "Running",
          podIP: p.ip,
          podIPs: [{ ip: p.ip }],
          // No node: each pod is its own host (a network namespace on this machine).
          hostIP: p.ip,
          conditions: [{ type: "Ready", status: "True" }, { type: "ContainersReady", status: "True" }],
        },
      },
      "application/merge-patch+json",
    ),
    `pod ${p.namespace}/${p.name} status`,
  );
}

/** A token of a service account for this audience (what a kubelet mounts as a projected token), valid a day. */
export async function serviceAccountToken(api: Kube, namespace: string, serviceAccount: string, audience: string): Promise<string> {
  const body = await ok(
    api.request("POST", `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { audiences: [audience], expirationSeconds: 86_400 },
    }),
    `token of ${namespace}/${serviceAccount}`,
  );
  return body.status.token;
}

/** Deletes a pod now (no kubelet to wait for); gone already is fine. */
export async function deletePod(api: Kube, namespace: string, name: string): Promise<void> {
  await ok(api.request("DELETE", `/api/v1/namespaces/${namespace}/pods/${name}`), `delete pod ${namespace}/${name}`, [404]);
}

/**
 * The EndpointSlice of a service, as the EndpointSlice controller would write
 * it: these endpoints (ready and serving; `name` is the pod's, absent for an
 * address that is no pod) on these ports (the pods' ports, not the Service's).
 */
export async function putEndpointSlice(
  api: Kube,
  service: { namespace: string; name: string },
  endpoints: Array<{ ip: string; name?: string }>,
  ports: Array<{ name?: string; port: number; appProtocol?: string }>,
): Promise<void> {
  await apply(api, "endpointslices", {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: `${service.name}-harness`,
      namespace: service.namespace,
      labels: { "kubernetes.io/service-name": service.name, "endpointslice.kubernetes.io/managed-by": FIELD_MANAGER },
    },
    addressType: "IPv4",
    ports: ports.map((p) => ({ name: p.name ?? "", port: p.port, protocol: "TCP", ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })),
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: true, serving: true, terminating: false },
      ...(e.name ? { targetRef: { kind: "Pod", namespace: service.namespace, name: e.name } } : {}),
    })),
  });
}

/** Runs `task` over `items`, `limit` at a time; rejects on the first failure. */
export async function concurrently<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
