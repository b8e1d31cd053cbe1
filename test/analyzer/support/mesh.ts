// The mesh the transport and API tests share: two namespaces, a client-only
// service, and a workload on 127.0.0.1 so a local Envoy's downstream address
// names a caller.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MESH = `apiVersion: meshscope/v1
kind: Mesh
services:
  - name: productpage
    clusterIP: 10.96.0.10
    ports: [{port: 9080}]
    workloads: [{name: productpage-v1-abc, address: 10.244.0.5, labels: {app: productpage}}]
  - name: reviews
    clusterIP: 10.96.0.12
    ports: [{port: 9080}]
    workloads:
      - {name: reviews-v1-abc, address: 10.244.1.7, labels: {app: reviews, version: v1}}
      - {name: reviews-v2-abc, address: 10.244.1.8, labels: {app: reviews, version: v2}}
  - name: ratings
    clusterIP: 10.96.0.13
    ports: [{port: 9080}]
    workloads: [{name: ratings-v1-abc, address: 10.244.1.9, labels: {app: ratings, team: stars}}]
  - name: details
    clusterIP: 10.96.0.14
    ports: [{port: 9080}]
    workloads: [{name: details-v1-abc, address: 10.244.1.10, labels: {app: details}}]
  - name: frontend
    namespace: shop
    clusterIP: 10.96.1.10
    ports: [{port: 8080}]
    workloads: [{name: frontend-0, address: 10.244.2.10, labels: {app: frontend}}]
  - name: cart
    namespace: shop
    clusterIP: 10.96.1.20
    ports: [{port: 7070, protocol: grpc}]
    workloads: [{name: cart-0, address: 10.244.2.20, labels: {app: cart, team: stars}}]
  - name: loadgen
    namespace: shop
    ports: []
    workloads: [{name: loadgen-0, address: 127.0.0.1, labels: {app: loadgen}}]
`;

export const PAGE = 'productpage-v1-abc.default';
export const FRONTEND = 'frontend-0.shop';
export const LOADGEN = 'loadgen-0.shop';

export interface TempMesh {
  dir: string;
  meshFile: string;
  dataDir: string;
  remove(): void;
}

export function tempMesh(prefix = 'analyzer', mesh = MESH): TempMesh {
  const dir = mkdtempSync(join(tmpdir(), `meshscope-${prefix}-`));
  const meshFile = join(dir, 'mesh.yaml');
  writeFileSync(meshFile, mesh);
  return { dir, meshFile, dataDir: join(dir, 'data'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

let seq = 0;

/** A native record (shape 1) with a unique request id. */
export function native(source: string, authority: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { time: new Date().toISOString(), source, authority, protocol: 'http', code: 200, durationMs: 3, requestId: `req-${process.pid}-${++seq}`, ...extra };
}

/** An Istio/Envoy JSON access log (shape 2): numbers as strings, "-" for absent. */
export function envoyJson(callerIp: string, cluster: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    start_time: new Date().toISOString(),
    downstream_remote_address: `${callerIp}:51234`,
    upstream_cluster: cluster,
    authority: '-',
    response_code: '200',
    duration: '7',
    x_forwarded_for: '-',
    request_id: `env-${process.pid}-${++seq}`,
    ...extra,
  };
}

/** Shape 3: Fluent Bit merges the Envoy fields and adds the pod's Kubernetes metadata. */
export function fluentBit(pod: string, namespace: string, authority: string): Record<string, unknown> {
  return {
    start_time: new Date().toISOString(),
    authority,
    response_code: 200,
    upstream_cluster: '-',
    kubernetes: { pod_name: pod, namespace_name: namespace },
  };
}

/** Shape 3: Vector wraps the record as a JSON string in `message`. */
export function vector(record: Record<string, unknown>): Record<string, unknown> {
  return { message: JSON.stringify(record), source_type: 'kubernetes_logs' };
}
