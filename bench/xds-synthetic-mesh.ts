// A synthetic mesh for the xDS benches: N services in one namespace, one HTTP
// port each, E endpoints each, every address distinct. Built as a MeshSpec
// directly: parsing a 100k-workload mesh.yaml would measure the YAML parser.
import { Inventory, type MeshSpec, type Service } from '../contracts/index.ts';

export const BENCH_PORT = 8080;

export function serviceName(i: number): string {
  return `svc-${String(i).padStart(5, '0')}`;
}

function address(k: number): string {
  return `10.${Math.floor(k / 62500) + 1}.${Math.floor(k / 250) % 250}.${(k % 250) + 1}`;
}

function service(i: number, endpoints: number, generation: number): Service {
  const name = serviceName(i);
  const id = `${name}.default`;
  return {
    id,
    name,
    namespace: 'default',
    fqdn: `${name}.default.svc.cluster.local`,
    clusterIP: `172.20.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    ports: [{ port: BENCH_PORT, targetPort: BENCH_PORT, protocol: 'http' }],
    workloads: Array.from({ length: endpoints }, (_, e) => ({
      id: `${name}-${e}.default`,
      name: `${name}-${e}`,
      namespace: 'default',
      // A generation > 0 moves the service's first endpoint: an "endpoint change".
      address: e === 0 && generation > 0 ? `11.0.${Math.floor(generation / 250) % 250}.${(generation % 250) + 1}` : address(i * endpoints + e),
      labels: { app: name },
      service: id,
    })),
  };
}

export class SyntheticMesh {
  private readonly services: Service[];

  constructor(readonly n: number, readonly endpoints = 10) {
    this.services = Array.from({ length: n }, (_, i) => service(i, endpoints, 0));
  }

  inventory(): Inventory {
    const spec: MeshSpec = { clusterDomain: 'cluster.local', services: this.services };
    return new Inventory(spec);
  }

  /** Moves one endpoint of service `i`; returns the next inventory. */
  moveEndpoint(i: number, generation: number): Inventory {
    this.services[i] = service(i, this.endpoints, generation);
    return this.inventory();
  }
}
