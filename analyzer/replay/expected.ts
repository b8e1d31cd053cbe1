// expected.yaml: `scopes:` maps a source service to exactly the services it
// must see. A service it does not name must have an empty scope. Unknown
// services and keys are fixture errors (exit 2) naming file and line, not a
// failed check: a typo there would otherwise read as drift in the mesh.
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node as YamlNode } from 'yaml';
import type { Inventory, ServiceId } from '../../contracts/index.ts';
import { FixtureError } from './errors.ts';

export type Expected = Map<ServiceId, ServiceId[]>;

const SHAPE = 'scopes: mapping each source service to the services it must see, e.g. `productpage.default: [reviews.default]`';

export function parseExpected(text: string, file: string, inv: Inventory): Expected {
  const lines = new LineCounter();
  // Repeated keys are found below: the yaml library's own check compares every
  // key with every other, minutes for the scopes of a 10k-service mesh.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
  const at = (node: YamlNode | null | undefined) => {
    const offset = node?.range?.[0];
    return offset === undefined ? file : `${file}:${lines.linePos(offset).line}`;
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new FixtureError(`${file}${e.linePos ? `:${e.linePos[0].line}` : ''}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) throw new FixtureError(`${file}: empty; write ${SHAPE}, or remove the file to skip the check`);
  if (!isMap(root)) throw new FixtureError(`${at(root)}: expected a mapping with the one key ${SHAPE}`);
  for (const [i, pair] of root.items.entries()) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '?';
    if (key !== 'scopes') throw new FixtureError(`${at(pair.key as YamlNode)}: unknown key "${key}"; expected.yaml holds only ${SHAPE}`);
    if (i > 0) throw new FixtureError(`${at(pair.key as YamlNode)}: not valid YAML: Map keys must be unique (scopes is given twice)`);
  }
  const scopes = root.get('scopes', true) as YamlNode | undefined;
  const out: Expected = new Map();
  if (scopes === undefined || (isScalar(scopes) && scopes.value === null)) return out;
  if (!isMap(scopes)) throw new FixtureError(`${at(scopes)}: scopes: expected a mapping of source service to a list of services`);
  const serviceAt = (node: YamlNode, what: string): ServiceId => {
    const id = isScalar(node) && node.value !== null ? String(node.value) : undefined;
    if (id === undefined) throw new FixtureError(`${at(node)}: ${what}: expected a service id NAME.NAMESPACE`);
    if (!inv.service(id)) {
      const known = inv.services.map((s) => s.id).join(', ') || 'mesh.yaml lists none';
      throw new FixtureError(`${at(node)}: ${what} ${id} is not a service of mesh.yaml; write NAME.NAMESPACE of a listed service (${known})`);
    }
    return id;
  };
  for (const pair of scopes.items) {
    const source = serviceAt(pair.key as YamlNode, 'source service');
    if (out.has(source)) throw new FixtureError(`${at(pair.key as YamlNode)}: not valid YAML: Map keys must be unique (scopes.${source} is given twice)`);
    const value = pair.value as YamlNode | null;
    const deps: ServiceId[] = [];
    if (value !== null && !(isScalar(value) && value.value === null)) {
      if (!isSeq(value)) throw new FixtureError(`${at(value)}: scopes.${source}: expected a list of services, e.g. [reviews.default]`);
      for (const item of value.items as YamlNode[]) deps.push(serviceAt(item, `scopes.${source}: service`));
    }
    out.set(source, [...new Set(deps)].sort());
  }
  return out;
}
