// Field selection on GET /api/v1/graph: `fields=nodes.namespace,edges.count`
// keeps only the named attributes. A list that names no `nodes.` field leaves
// node attributes whole (same for edges); keys, sources and targets are always
// sent (without them the graph cannot be loaded), and naming only them
// (`nodes.key`, `edges.source`) means "no attributes".

export const NODE_FIELDS = ['name', 'namespace', 'client', 'workloads', 'inInventory', 'scope'] as const;
export const EDGE_FIELDS = ['count', 'errors', 'firstSeen', 'lastSeen', 'protocols', 'p50Ms', 'p99Ms', 'active', 'lastViaGateway', 'lastDirect', 'reporters'] as const;
const NODE_IDS = ['key'];
const EDGE_IDS = ['key', 'source', 'target'];

export const VALID_FIELDS: readonly string[] = [
  ...[...NODE_IDS, ...NODE_FIELDS].map((f) => `nodes.${f}`),
  ...[...EDGE_IDS, ...EDGE_FIELDS].map((f) => `edges.${f}`),
];

export interface FieldSelection {
  /** Node attributes to send, in their documented order; undefined = all. */
  nodes?: readonly string[];
  edges?: readonly string[];
  /** The same for the same selection whatever its spelling (caches key on it). */
  key: string;
}

/** A query value the caller got wrong (fields, since): fastify answers it 400 with this message. */
export class BadQuery extends Error {
  readonly statusCode = 400;
}

export function parseFields(raw: string | undefined): FieldSelection {
  if (raw === undefined || raw.trim() === '') return { key: '' };
  const asked = raw.split(',').map((f) => f.trim()).filter((f) => f !== '');
  const unknown = asked.filter((f) => !VALID_FIELDS.includes(f));
  if (unknown.length) {
    throw new BadQuery(`fields: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((f) => JSON.stringify(f)).join(', ')}; valid fields are ${VALID_FIELDS.join(', ')}`);
  }
  const of = (entity: string, attrs: readonly string[]) => {
    const named = asked.filter((f) => f.startsWith(`${entity}.`)).map((f) => f.slice(entity.length + 1));
    return named.length === 0 ? undefined : attrs.filter((a) => named.includes(a));
  };
  const nodes = of('nodes', NODE_FIELDS);
  const edges = of('edges', EDGE_FIELDS);
  return { nodes, edges, key: `${nodes?.join(',') ?? '*'}|${edges?.join(',') ?? '*'}` };
}

/** `attrs` with only the `names` given (all when undefined). */
export function pick<T extends object>(attrs: T, names: readonly string[] | undefined): Partial<T> {
  if (!names) return attrs;
  const out: Partial<T> = {};
  for (const n of names) if (n in attrs) (out as Record<string, unknown>)[n] = (attrs as Record<string, unknown>)[n];
  return out;
}
