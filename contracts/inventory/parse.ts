import { isIP } from 'node:net';
import { LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { DNS_LABEL } from '../kube-names.ts';
import { InventoryError, closest } from './errors.ts';
import { PROTOCOLS, serviceId, type MeshSpec, type Protocol, type Service, type ServicePort, type Workload } from './model.ts';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Parses and validates mesh.yaml text; every error names `file`, the key path and the fix. */
export function parseMesh(text: string, file = 'mesh.yaml'): MeshSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const lineOf = (path: (string | number)[]): number | undefined => {
    const node = doc.getIn(path, true) as YamlNode | undefined;
    const offset = node?.range?.[0];
    return offset === undefined ? undefined : lines.linePos(offset).line;
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new InventoryError(file, '', `not valid YAML: ${e.message.split('\n')[0]}`, e.linePos?.[0]?.line);
  }
  const fail = (path: (string | number)[], expected: string, hint?: string): never => {
    throw new InventoryError(file, formatPath(path), expected, lineOf(path) ?? lineOf(path.slice(0, -1)), hint);
  };
  const root = doc.toJS() as unknown;
  if (!isPlainObject(root)) fail([], 'expected a mapping with apiVersion, kind and services');
  const r = root as Record<string, unknown>;
  checkKeys(r, [], ['apiVersion', 'kind', 'clusterDomain', 'services'], fail);
  if (r.apiVersion !== 'meshscope/v1') fail(['apiVersion'], `expected "meshscope/v1", got ${show(r.apiVersion)}`);
  if (r.kind !== 'Mesh') fail(['kind'], `expected "Mesh", got ${show(r.kind)}`);
  const clusterDomain = r.clusterDomain ?? 'cluster.local';
  if (typeof clusterDomain !== 'string' || !DNS_SUBDOMAIN.test(clusterDomain)) {
    fail(['clusterDomain'], `expected a DNS domain such as cluster.local, got ${show(clusterDomain)}`);
  }
  if (!Array.isArray(r.services)) fail(['services'], 'expected a list of services', 'write `services: []` for an empty mesh');
  const services = (r.services as unknown[]).map((s, i) => parseService(s, ['services', i], clusterDomain as string, fail));
  checkUnique(services, fail);
  return { clusterDomain: clusterDomain as string, services };
}

type Fail = (path: (string | number)[], expected: string, hint?: string) => never;

function parseService(raw: unknown, path: (string | number)[], domain: string, fail: Fail): Service {
  if (!isPlainObject(raw)) fail(path, 'expected a mapping with name, ports and workloads');
  const s = raw as Record<string, unknown>;
  checkKeys(s, path, ['name', 'namespace', 'clusterIP', 'ports', 'workloads'], fail);
  const name = dnsLabel(s.name, [...path, 'name'], fail, true);
  const namespace = s.namespace === undefined ? 'default' : dnsLabel(s.namespace, [...path, 'namespace'], fail, true);
  let clusterIP: string | undefined;
  if (s.clusterIP !== undefined) {
    if (typeof s.clusterIP !== 'string' || isIP(s.clusterIP) === 0) fail([...path, 'clusterIP'], `expected an IP address, got ${show(s.clusterIP)}`);
    clusterIP = s.clusterIP as string;
  }
  const ports = list(s.ports, [...path, 'ports'], fail).map((p, i) => parsePort(p, [...path, 'ports', i], fail));
  const seen = new Set<number>();
  ports.forEach((p, i) => {
    if (seen.has(p.port)) fail([...path, 'ports', i, 'port'], `port ${p.port} is listed twice in service ${name}`);
    seen.add(p.port);
  });
  const id = serviceId(name, namespace);
  const workloads = list(s.workloads, [...path, 'workloads'], fail).map((w, i) =>
    parseWorkload(w, [...path, 'workloads', i], namespace, id, fail),
  );
  return { id, name, namespace, fqdn: `${name}.${namespace}.svc.${domain}`, clusterIP, ports, workloads };
}

function parsePort(raw: unknown, path: (string | number)[], fail: Fail): ServicePort {
  if (!isPlainObject(raw)) fail(path, 'expected a mapping with port, targetPort and protocol');
  const p = raw as Record<string, unknown>;
  checkKeys(p, path, ['port', 'targetPort', 'protocol', 'name'], fail);
  const port = portNumber(p.port, [...path, 'port'], fail);
  const targetPort = p.targetPort === undefined ? port : portNumber(p.targetPort, [...path, 'targetPort'], fail);
  const protocol = (p.protocol ?? 'http') as Protocol;
  if (!PROTOCOLS.includes(protocol)) {
    fail([...path, 'protocol'], `expected one of ${PROTOCOLS.join(' | ')}, got ${show(p.protocol)}`, closestHint(String(p.protocol), PROTOCOLS));
  }
  return { port, targetPort, protocol };
}

function parseWorkload(raw: unknown, path: (string | number)[], namespace: string, service: string, fail: Fail): Workload {
  if (!isPlainObject(raw)) fail(path, 'expected a mapping with name and address');
  const w = raw as Record<string, unknown>;
  checkKeys(w, path, ['name', 'address', 'labels'], fail);
  if (typeof w.name !== 'string' || !DNS_SUBDOMAIN.test(w.name)) {
    fail([...path, 'name'], `expected a pod name (lowercase DNS name), got ${show(w.name)}`);
  }
  if (typeof w.address !== 'string' || isIP(w.address) === 0) fail([...path, 'address'], `expected the pod IP address, got ${show(w.address)}`);
  const labels: Record<string, string> = {};
  if (w.labels !== undefined) {
    if (!isPlainObject(w.labels)) fail([...path, 'labels'], 'expected a mapping of label name to value');
    for (const [k, v] of Object.entries(w.labels as Record<string, unknown>)) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') fail([...path, 'labels', k], `expected a string value, got ${show(v)}`);
      labels[k] = String(v);
    }
  }
  const name = w.name as string;
  return { id: `${name}.${namespace}`, name, namespace, address: w.address as string, labels, service };
}

function checkUnique(services: Service[], fail: Fail): void {
  const ids = new Map<string, number>();
  const ips = new Map<string, string>();
  const workloads = new Map<string, string>();
  const addresses = new Map<string, string>();
  services.forEach((s, i) => {
    if (ids.has(s.id)) fail(['services', i, 'name'], `service ${s.id} is declared twice (also services[${ids.get(s.id)}])`);
    ids.set(s.id, i);
    if (s.clusterIP) {
      const other = ips.get(s.clusterIP);
      if (other) fail(['services', i, 'clusterIP'], `clusterIP ${s.clusterIP} is also the clusterIP of ${other}`);
      ips.set(s.clusterIP, s.id);
    }
    s.workloads.forEach((w, j) => {
      const path = ['services', i, 'workloads', j];
      const owner = workloads.get(w.id);
      if (owner) fail([...path, 'name'], `workload ${w.id} is already declared under service ${owner}`, 'a pod is listed once, under the service it calls from');
      workloads.set(w.id, s.id);
      const holder = addresses.get(w.address);
      if (holder) fail([...path, 'address'], `address ${w.address} is already the address of workload ${holder}`);
      addresses.set(w.address, w.id);
    });
  });
}

function checkKeys(obj: Record<string, unknown>, path: (string | number)[], known: readonly string[], fail: Fail): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      fail([...path, key], `unknown key "${key}"; expected one of ${known.join(', ')}`, closestHint(key, known));
    }
  }
}

function closestHint(word: string, known: readonly string[]): string | undefined {
  const c = closest(word, known);
  return c ? `did you mean "${c}"?` : undefined;
}

function dnsLabel(v: unknown, path: (string | number)[], fail: Fail, required: boolean): string {
  if (v === undefined && required) fail(path, 'is required: a DNS label such as "reviews"');
  if (typeof v !== 'string' || !DNS_LABEL.test(v)) fail(path, `expected a DNS label (lowercase letters, digits, "-"), got ${show(v)}`);
  return v as string;
}

function portNumber(v: unknown, path: (string | number)[], fail: Fail): number {
  if (v === undefined) fail(path, 'is required: a port number 1-65535');
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) fail(path, `expected an integer 1-65535, got ${show(v)}`);
  return v as number;
}

function list(v: unknown, path: (string | number)[], fail: Fail): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, `expected a list, got ${show(v)}`);
  return v as unknown[];
}

function isPlainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

// Re-exported so callers need one import for parsing.
export { InventoryError };
