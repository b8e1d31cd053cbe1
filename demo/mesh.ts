// The demo mesh: Online Boutique's published call graph
// (fixtures/topologies/online-boutique.json), one workload per service, each
// on a loopback address of its own so every app and sidecar can use the
// service's real port and the standard sidecar ports side by side.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

type Protocol = 'http' | 'http2' | 'grpc' | 'tcp';

interface TopologyFile {
  services: Array<{ name: string; ports: Array<{ port: number; protocol: Protocol }> }>;
  edges: Array<{ from: string; to: string; protocol: Protocol; port: number }>;
}

export interface Dependency {
  service: string;
  port: number;
  protocol: Protocol;
}

export interface DemoWorkload {
  service: string;
  /** `NAME.NAMESPACE`, the sidecar's node identity. */
  id: string;
  address: string;
  /** The app's port (the service port, or its targetPort where Online Boutique remaps it); none for a client-only workload. */
  port?: { port: number; targetPort: number; protocol: Protocol };
  calls: Dependency[];
}

export interface DemoMesh {
  yaml: string;
  workloads: DemoWorkload[];
  edges: Array<{ from: string; to: string }>;
}

const TOPOLOGY = new URL('../fixtures/topologies/online-boutique.json', import.meta.url);
/** Kubernetes Service port → container port, from the topology's notes (frontend 80→8080, emailservice 5000→8080). */
const TARGET_PORTS: Record<string, number> = { frontend: 8080, emailservice: 8080 };

/** `subnet` is the first three octets of a loopback /24, e.g. 127.0.10. */
export function demoMesh(subnet: string): DemoMesh {
  const topo = JSON.parse(readFileSync(TOPOLOGY, 'utf8')) as TopologyFile;
  const workloads: DemoWorkload[] = topo.services.map((s, i) => {
    const p = s.ports[0];
    return {
      service: s.name,
      id: `${s.name}-0.default`,
      address: `${subnet}.${i + 1}`,
      port: p ? { port: p.port, targetPort: TARGET_PORTS[s.name] ?? p.port, protocol: p.protocol } : undefined,
      calls: topo.edges.filter((e) => e.from === s.name).map((e) => ({ service: e.to, port: e.port, protocol: e.protocol })),
    };
  });
  const mesh = {
    apiVersion: 'meshscope/v1',
    kind: 'Mesh',
    services: workloads.map((w) => ({
      name: w.service,
      namespace: 'default',
      ports: w.port ? [w.port] : [],
      workloads: [{ name: w.id.slice(0, -'.default'.length), address: w.address, labels: { app: w.service } }],
    })),
  };
  const yaml = `# The meshscope demo's Online Boutique mesh on loopback (written by meshscope demo).\n${YAML.stringify(mesh)}`;
  return { yaml, workloads, edges: topo.edges.map((e) => ({ from: e.from, to: e.to })) };
}
