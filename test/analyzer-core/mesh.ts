// A small two-namespace mesh for the core's tests: short names must resolve in
// the caller's namespace, so `ratings` exists in both.
import { Inventory, parseMesh } from '../../contracts/index.ts';
import { Analyzer, VirtualClock, type AnalyzerOptions, type RawInput } from '../../analyzer/index.ts';

export const MESH = `apiVersion: meshscope/v1
kind: Mesh
services:
  - name: productpage
    clusterIP: 10.96.0.10
    ports: [{port: 9080}]
    workloads: [{name: productpage-v1-7d4b9c8f6d-abcde, address: 10.244.0.5, labels: {app: productpage, version: v1}}]
  - name: reviews
    clusterIP: 10.96.0.12
    ports: [{port: 9080}]
    workloads:
      - {name: reviews-v1-545db77b95-2xq7k, address: 10.244.1.7, labels: {app: reviews, version: v1}}
      - {name: reviews-v2-7bf8c9648f-xxq9m, address: 10.244.1.8, labels: {app: reviews, version: v2}}
  - name: ratings
    clusterIP: 10.96.0.13
    ports: [{port: 9080}]
    workloads: [{name: ratings-v1-0, address: 10.244.1.9, labels: {app: ratings, team: stars}}]
  - name: ratings
    namespace: shop
    clusterIP: 10.96.1.13
    ports: [{port: 9080}]
    workloads: [{name: ratings-v1-0, address: 10.244.2.9, labels: {app: ratings, team: stars}}]
  - name: cart
    namespace: shop
    clusterIP: 10.96.1.20
    ports: [{port: 7070, protocol: grpc}]
    workloads: [{name: cart-0, address: 10.244.2.20, labels: {app: cart}}]
  - name: loadgen
    ports: []
    workloads: [{name: loadgen-0, address: 10.244.3.3, labels: {app: loadgen}}]
`;

export const PAGE = 'productpage-v1-7d4b9c8f6d-abcde.default';
export const CART = 'cart-0.shop';
export const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
export const DAY = 86_400_000;

export function inventory(): Inventory {
  return new Inventory(parseMesh(MESH, 'test-mesh.yaml'));
}

export function open(opts: Partial<AnalyzerOptions> = {}): { analyzer: Analyzer; clock: VirtualClock } {
  const clock = (opts.clock as VirtualClock | undefined) ?? new VirtualClock(T0);
  return { analyzer: Analyzer.open({ inventory: inventory(), clock, ...opts }), clock };
}

/** A native record from `source` to `authority` at `t`. */
export function call(source: string, authority: string, t = T0, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { time: new Date(t).toISOString(), source, authority, protocol: 'http', code: 200, durationMs: 5, ...extra };
}

export function inputs(...values: Array<string | Record<string, unknown>>): RawInput[] {
  return values.map((value, i) => ({ value, ref: `test:${i + 1}` }));
}
