// A generated mesh for the graph page's bench and browser tests: N services in
// namespaces of ~100, each calling a few others (mostly in its namespace),
// some edges erroring, some still through the lazy gateway. Deterministic:
// the same N gives the same graph. Built as a MeshSpec (no YAML to parse).
import { Inventory, type AccessLogRecord, type MeshSpec, type Service } from '../contracts/index.ts';
import { Analyzer } from '../analyzer/index.ts';

const WORDS = ['cart', 'checkout', 'payments', 'ledger', 'search', 'catalog', 'reviews', 'ratings', 'auth', 'users', 'orders', 'shipping', 'inventory', 'pricing', 'email', 'ads'];

export interface SyntheticGraph {
  inventory: Inventory;
  /** One record per edge (a few with 503s, some reported by the gateway). */
  records: AccessLogRecord[];
  edges: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function serviceOf(i: number): { name: string; namespace: string } {
  return { name: `${WORDS[i % WORDS.length]}-${i}`, namespace: `team-${String(Math.floor(i / 100)).padStart(3, '0')}` };
}

export function syntheticGraph(services: number, edges: number, seed = 1): SyntheticGraph {
  const random = rng(seed);
  const list: Service[] = Array.from({ length: services }, (_, i) => {
    const { name, namespace } = serviceOf(i);
    const id = `${name}.${namespace}`;
    return {
      id,
      name,
      namespace,
      fqdn: `${id}.svc.cluster.local`,
      clusterIP: `172.${16 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`,
      ports: [{ port: 8080, targetPort: 8080, protocol: 'http' }],
      workloads: [{ id: `${name}-0.${namespace}`, name: `${name}-0`, namespace, address: `10.${Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`, labels: { app: name }, service: id }],
    };
  });
  const spec: MeshSpec = { clusterDomain: 'cluster.local', services: list };
  const seen = new Set<string>();
  const records: AccessLogRecord[] = [];
  const time = new Date().toISOString();
  for (let tries = 0; records.length < edges && tries < edges * 4; tries++) {
    const a = Math.floor(random() * services);
    // Two calls in three stay in the caller's namespace.
    const nsBase = Math.floor(a / 100) * 100;
    const b = random() < 0.67 ? Math.min(services - 1, nsBase + Math.floor(random() * 100)) : Math.floor(random() * services);
    if (a === b || seen.has(`${a}>${b}`)) continue;
    seen.add(`${a}>${b}`);
    const to = list[b];
    records.push({
      time,
      source: list[a].workloads[0].id,
      authority: `${to.id}:8080`,
      protocol: random() < 0.2 ? 'grpc' : 'http',
      code: random() < 0.03 ? 503 : 200,
      durationMs: 1 + Math.floor(random() * 50),
      reporter: random() < 0.1 ? 'gateway' : 'envoy',
    });
  }
  return { inventory: new Inventory(spec), records, edges: records.length };
}

/** An in-memory analyzer that has ingested syntheticGraph(services, 3 per service), in batches as transports post them. */
export function syntheticAnalyzer(services: number): { analyzer: Analyzer; graph: SyntheticGraph } {
  const graph = syntheticGraph(services, 3 * services);
  const analyzer = Analyzer.open({ inventory: graph.inventory });
  for (let i = 0; i < graph.records.length; i += 2000) analyzer.ingestRecords(graph.records.slice(i, i + 2000));
  return { analyzer, graph };
}
