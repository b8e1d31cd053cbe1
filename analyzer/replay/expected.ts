// expected.yaml: `scopes:` maps a source service to exactly the services it
// must see. Unknown services and keys are errors naming file and line.
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node as YamlNode } from 'yaml';
import type { Inventory, ServiceId } from '../../contracts/index.ts';
import { FixtureError } from './errors.ts';

export type Expected = Map<ServiceId, ServiceId[]>;

export function parseExpected(text: string, file: string, inv: Inventory): Expected {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const at = (node: YamlNode | null | undefined) => {
    const offset = node?.range?.[0];
    return offset === undefined ? file : `${file}:${lines.linePos(offset).line}`;
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new FixtureError(`${file}${e.linePos ? `:${e.linePos[0].line}` : ''}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const root = doc.contents;
  if (!isMap(root)) throw new FixtureError(`${at(root)}: expected a mapping with the key scopes`);
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '?';
    if (key !== 'scopes') throw new FixtureError(`${at(pair.key as YamlNode)}: unknown key "${key}"; expected.yaml holds only scopes`);
  }
  const scopes = root.get('scopes', true) as YamlNode | undefined;
  const out: Expected = new Map();
  if (scopes === undefined || (isScalar(scopes) && scopes.value === null)) return out;
  if (!isMap(scopes)) throw new FixtureError(`${at(scopes)}: scopes: expected a mapping of source service to a list of services`);
  const known = (id: string, node: YamlNode, what: string) => {
    if (!inv.service(id)) {
      throw new FixtureError(`${at(node)}: ${what} ${id} is not a service of mesh.yaml; write NAME.NAMESPACE of a listed service (${inv.services.map((s) => s.id).join(', ')})`);
    }
  };
  for (const pair of scopes.items) {
    const keyNode = pair.key as YamlNode;
    const source = isScalar(keyNode) ? String(keyNode.value) : '';
    known(source, keyNode, 'source service');
    const value = pair.value as YamlNode | null;
    const deps: ServiceId[] = [];
    if (value !== null && !(isScalar(value) && value.value === null)) {
      if (!isSeq(value)) throw new FixtureError(`${at(value)}: scopes.${source}: expected a list of services, e.g. [reviews.default]`);
      for (const item of value.items as YamlNode[]) {
        const id = isScalar(item) ? String(item.value) : '';
        known(id, item, `scopes.${source}: service`);
        deps.push(id);
      }
    }
    out.set(source, [...new Set(deps)].sort());
  }
  return out;
}
