// JSON schemas shared by the routes: they validate requests, shape responses
// (fast-json-stringify drops what a schema does not name) and feed /docs.

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const strings = { type: 'array', items: str } as const;

export const errorSchema = {
  type: 'object',
  properties: { statusCode: int, error: str, message: str },
  required: ['statusCode', 'message'],
} as const;

export const serviceParams = {
  type: 'object',
  properties: {
    ns: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: 'namespace' },
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: 'service name' },
  },
  required: ['ns', 'name'],
} as const;

export const edgeSchema = {
  type: 'object',
  properties: {
    source: str,
    target: str,
    count: int,
    errors: { ...int, description: 'responses with a 5xx code' },
    firstSeen: { type: 'string', format: 'date-time' },
    lastSeen: { type: 'string', format: 'date-time' },
    protocols: strings,
    p50Ms: { type: 'number' },
    p99Ms: { type: 'number' },
    active: { type: 'boolean', description: 'in scope now (false once unseen for --dependency-ttl)' },
    lastViaGateway: { type: 'string', format: 'date-time', description: 'last call carried by the lazy gateway' },
    lastDirect: { type: 'string', format: 'date-time', description: 'last call reported by anything else: the caller went direct' },
    reporters: { ...strings, description: 'who reported calls on this edge: gateway, envoy, xds, log' },
  },
  required: ['source', 'target', 'count', 'errors', 'firstSeen', 'lastSeen', 'active'],
} as const;

export const graphSchema = {
  type: 'object',
  description:
    'graphology serialization: nodes are services (key NAME.NAMESPACE), edges are observed calls; with `fields`, ' +
    'attributes hold only the fields named (and are left out when none is)',
  properties: {
    options: { type: 'object', properties: { type: str, multi: { type: 'boolean' }, allowSelfLoops: { type: 'boolean' } } },
    attributes: { type: 'object', additionalProperties: true },
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          key: str,
          attributes: {
            type: 'object',
            properties: { name: str, namespace: str, client: { type: 'boolean' }, workloads: int, inInventory: { type: 'boolean' }, scope: strings },
          },
        },
        required: ['key'],
      },
    },
    edges: {
      type: 'array',
      items: {
        type: 'object',
        properties: { key: str, source: str, target: str, attributes: { type: 'object', properties: edgeSchema.properties } },
        required: ['source', 'target'],
      },
    },
  },
  required: ['nodes', 'edges'],
} as const;

export const pinSchema = {
  type: 'object',
  properties: { source: str, dest: str, note: str, createdAt: { type: 'string', format: 'date-time' } },
  required: ['source', 'dest'],
} as const;

export const scopeReasonSchema = {
  type: 'object',
  description: 'kind edge: reporters, lastSeen, route, expiresAt; kind pin: note, createdAt; kind rule: rule (its id), source, namespace or selector',
  properties: {
    kind: { type: 'string', enum: ['edge', 'pin', 'rule'] },
    reporters: { type: 'array', items: str },
    lastSeen: { type: 'string', format: 'date-time' },
    route: { type: 'string', enum: ['gateway', 'direct', 'unknown'] },
    expiresAt: { type: 'string', format: 'date-time' },
    note: str,
    createdAt: { type: 'string', format: 'date-time' },
    rule: str,
    source: str,
    namespace: str,
    selector: { type: 'object', additionalProperties: { type: 'string' } },
  },
  required: ['kind'],
} as const;

export const ruleSchema = {
  type: 'object',
  properties: {
    id: str,
    source: { type: 'string', description: 'a service id, "*" or "*.NAMESPACE"' },
    namespace: { type: 'string', description: 'adds every service of this namespace' },
    selector: { type: 'object', additionalProperties: { type: 'string' }, description: 'adds every service with a workload carrying these labels' },
    note: str,
    createdAt: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'source'],
} as const;

export const proxyBytesSchema = {
  type: 'object',
  properties: { workload: str, clusters: int, bytesScoped: int, bytesFull: int },
  required: ['workload', 'clusters', 'bytesScoped', 'bytesFull'],
} as const;

const typeStatusSchema = {
  type: 'object',
  properties: {
    subscribed: { anyOf: [strings, { type: 'string', enum: ['*'] }] },
    versionSent: str,
    versionAcked: str,
    nonceSent: str,
    lastNack: { type: 'object', properties: { version: str, message: str, at: str } },
    resources: int,
  },
} as const;

export const proxySchema = {
  type: 'object',
  properties: {
    nodeId: str,
    workload: str,
    service: str,
    profile: { type: 'string', enum: ['envoy', 'grpc'] },
    streams: int,
    connectedAt: { type: 'string', format: 'date-time' },
    types: { type: 'object', additionalProperties: typeStatusSchema, description: 'per xDS type URL: what was sent, ACKed or NACKed' },
    bytesPushed: int,
    scope: strings,
    bytes: proxyBytesSchema,
  },
  required: ['nodeId', 'profile', 'streams', 'types', 'scope'],
} as const;

const num = { type: 'number' } as const;
const epochMs = { type: 'number', description: 'epoch ms; 0 = never' } as const;

/** GET /api/v1/graph/view: documented here, sent pre-serialized (cached-body.ts). */
export const graphViewSchema = {
  type: 'object',
  properties: {
    version: int,
    now: epochMs,
    bbox: { type: 'object', properties: { x: { type: 'array', items: num }, y: { type: 'array', items: num } } },
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        properties: { id: str, name: str, ns: str, x: num, y: num, scope: int, workloads: int, client: { type: 'boolean' }, missing: { type: 'boolean' } },
      },
    },
    edges: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          key: str,
          s: str,
          t: str,
          count: int,
          errors: int,
          rps: num,
          errPct: num,
          protocols: strings,
          firstSeen: epochMs,
          lastSeen: epochMs,
          active: { type: 'boolean' },
          expiresAt: epochMs,
          viaGateway: epochMs,
          direct: epochMs,
          reporters: strings,
          pinned: { type: 'boolean' },
        },
      },
    },
  },
} as const;
