// Small meshes for the xDS tests, written as real mesh.yaml text so the
// inventory goes through the same parser as in production.
import YAML from 'yaml';
import { Inventory, parseMesh, type Protocol } from '../../../contracts/index.ts';

export interface TestService {
  name: string;
  namespace?: string;
  clusterIP?: string;
  ports?: { port: number; targetPort?: number; protocol?: Protocol }[];
  workloads?: { name: string; address: string }[];
}

export function meshYaml(services: TestService[]): string {
  return YAML.stringify({ apiVersion: 'meshscope/v1', kind: 'Mesh', services });
}

export function inventoryOf(services: TestService[]): Inventory {
  return new Inventory(parseMesh(meshYaml(services), 'test-mesh.yaml'));
}

/** Service `name` in `default` with one HTTP port and `n` workloads at 10.0.<seed>.x. */
export function svc(name: string, opts: { port?: number; protocol?: Protocol; workloads?: number; seed?: number; namespace?: string } = {}): TestService {
  const seed = opts.seed ?? name.length;
  return {
    name,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ports: [{ port: opts.port ?? 8080, protocol: opts.protocol ?? 'http' }],
    workloads: Array.from({ length: opts.workloads ?? 1 }, (_, i) => ({ name: `${name}-${i}`, address: `10.0.${seed}.${i + 1}` })),
  };
}
