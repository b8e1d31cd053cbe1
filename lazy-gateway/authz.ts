// Istio AuthorizationPolicy, decided at the gateway: a first call through the
// gateway must be allowed or denied as the destination's sidecar would decide
// the direct call, or the gateway would widen what a caller may do.
//
// Order, as Istio's: CUSTOM, then DENY, then ALLOW (when any ALLOW policy
// applies to the workload, one must match); AUDIT decides nothing.
// Applies to a workload: policies of its namespace whose selector matches its
// labels (no selector: all of them) and those of the root namespace (mesh-wide).
// Policies with targetRef(s) name gateways/services, not sidecars: ignored.
//
// Honoured: from.source principals, namespaces, ipBlocks, remoteIpBlocks (+ not*);
// to.operation hosts, ports, methods, paths (+ not*); when keys source.principal,
// source.namespace, source.ip, remote.ip, destination.port, request.headers[…].
// String values match as Istio's do: exact, `prefix*`, `*suffix`, `*` = present;
// hosts case-insensitively; paths without the query, with `{*}`/`{**}` templates.
// Not evaluable here (no JWT, no external authorizer): requestPrincipals, other
// `when` keys, and CUSTOM. Like Istio with fields it cannot apply, the gateway
// fails closed: such a field never makes an ALLOW rule match and always makes a
// DENY (or CUSTOM) rule match, so a CUSTOM policy whose rules match denies.
// A destination service whose pods fall under different policies is allowed
// only if every pod would allow the call (the gateway cannot know which pod the
// direct call would have reached).
import { BlockList, isIP } from 'node:net';
import {
  ISTIO_ROOT_NAMESPACE,
  ISTIO_TRUST_DOMAIN,
  type AuthorizationCondition,
  type AuthorizationOperation,
  type AuthorizationPolicy,
  type AuthorizationRule,
  type AuthorizationSource,
  type Inventory,
  type Service,
  type Workload,
} from '../contracts/inventory/index.ts';

/** What the decision reads of one request. */
export interface AuthzRequest {
  /** The calling workload, when the gateway knows it (its service account is its identity). */
  caller?: Workload;
  /** The caller's address as the gateway sees it (used when the workload is unknown). */
  callerAddress: string;
  method: string;
  /** The request path, query included or not. */
  path: string;
  /** Host / :authority as sent. */
  host: string;
  /** The port the destination workload receives on (the service's targetPort). */
  port: number;
  /** Request headers, lowercase names: [name, value, …]. */
  headers: readonly string[];
}

export type AuthzDecision = { allowed: true } | { allowed: false; reason: string };

export interface AuthorizerOptions {
  rootNamespace?: string;
  trustDomain?: string;
}

type Mode = 'allow' | 'deny';
const ALLOWED: AuthzDecision = { allowed: true };

export class Authorizer {
  private readonly root: string;
  private readonly trustDomain: string;
  /** Per inventory version and service: its workloads grouped by the policies that apply to them. */
  private cache = new WeakMap<Inventory, Map<string, Array<{ workload: Workload; policies: AuthorizationPolicy[] }>>>();

  constructor(opts: AuthorizerOptions = {}) {
    this.root = opts.rootNamespace ?? ISTIO_ROOT_NAMESPACE;
    this.trustDomain = opts.trustDomain ?? ISTIO_TRUST_DOMAIN;
  }

  /** The decision for a call to `service`; with no policy in the inventory it costs one length check. */
  decide(inventory: Inventory, service: Service, req: AuthzRequest): AuthzDecision {
    if (inventory.authorizationPolicies.length === 0) return ALLOWED;
    const ctx = this.context(req);
    for (const { workload, policies } of this.groups(inventory, service)) {
      const d = decideFor(workload, policies, ctx);
      if (!d.allowed) return d;
    }
    return ALLOWED;
  }

  /** The policies that apply to one workload, in namespace then name order. */
  applicable(inventory: Inventory, w: Workload): AuthorizationPolicy[] {
    const candidates = w.namespace === this.root ? inventory.policiesIn(w.namespace) : [...inventory.policiesIn(this.root), ...inventory.policiesIn(w.namespace)];
    return candidates
      .filter((p) => !p.targetRefs && (!p.selector || Object.entries(p.selector).every(([k, v]) => w.labels[k] === v)))
      .sort((a, b) => (a.namespace + a.name < b.namespace + b.name ? -1 : 1));
  }

  private groups(inventory: Inventory, service: Service): Array<{ workload: Workload; policies: AuthorizationPolicy[] }> {
    let byService = this.cache.get(inventory);
    if (!byService) this.cache.set(inventory, (byService = new Map()));
    let groups = byService.get(service.id);
    if (!groups) {
      const seen = new Map<string, { workload: Workload; policies: AuthorizationPolicy[] }>();
      for (const w of service.workloads) {
        const policies = this.applicable(inventory, w);
        const key = policies.map((p) => `${p.namespace}/${p.name}`).join(' ');
        if (policies.length && !seen.has(key)) seen.set(key, { workload: w, policies });
      }
      groups = [...seen.values()];
      byService.set(service.id, groups);
    }
    return groups;
  }

  private context(req: AuthzRequest): Ctx {
    const w = req.caller;
    const principal = w?.serviceAccount ? `${this.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}` : '';
    const q = req.path.indexOf('?');
    return {
      req,
      principal,
      // Istio reads the source namespace from the peer certificate: no identity, no namespace.
      namespace: principal ? w!.namespace : '',
      ip: stripMapped(w?.address ?? req.callerAddress),
      path: q === -1 ? req.path : req.path.slice(0, q),
    };
  }
}

interface Ctx {
  req: AuthzRequest;
  principal: string;
  namespace: string;
  ip: string;
  path: string;
}

function decideFor(w: Workload, policies: readonly AuthorizationPolicy[], ctx: Ctx): AuthzDecision {
  for (const p of policies) {
    if (p.action === 'CUSTOM' && matchesPolicy(p, ctx, 'deny')) {
      return { allowed: false, reason: `AuthorizationPolicy ${p.namespace}/${p.name} (CUSTOM${p.provider ? `, provider ${p.provider}` : ''}) needs an external authorizer the gateway does not call; denied to stay on the safe side` };
    }
  }
  for (const p of policies) {
    if (p.action === 'DENY' && matchesPolicy(p, ctx, 'deny')) return { allowed: false, reason: `denied by AuthorizationPolicy ${p.namespace}/${p.name} (DENY) of ${w.id}` };
  }
  const allows = policies.filter((p) => p.action === 'ALLOW');
  if (allows.length === 0 || allows.some((p) => matchesPolicy(p, ctx, 'allow'))) return ALLOWED;
  const names = allows.map((p) => `${p.namespace}/${p.name}`).join(', ');
  const who = ctx.principal || `an unidentified caller (${ctx.ip})`;
  return { allowed: false, reason: `no ALLOW AuthorizationPolicy of ${w.id} (${names}) matches ${ctx.req.method} ${ctx.path} from ${who}` };
}

function matchesPolicy(p: AuthorizationPolicy, ctx: Ctx, mode: Mode): boolean {
  return p.rules.some((r) => matchesRule(r, ctx, mode));
}

function matchesRule(r: AuthorizationRule, ctx: Ctx, mode: Mode): boolean {
  if (r.from && !r.from.some((s) => matchesSource(s, ctx, mode))) return false;
  if (r.to && !r.to.some((o) => matchesOperation(o, ctx))) return false;
  if (r.when && !r.when.every((c) => matchesCondition(c, ctx, mode))) return false;
  return true;
}

/** A field that is present but cannot be evaluated here. */
const unsupported = (mode: Mode): boolean => mode === 'deny';

function field(values: readonly string[] | undefined, negated: readonly string[] | undefined, test: (v: string) => boolean): boolean {
  if (values && !values.some(test)) return false;
  if (negated && negated.some(test)) return false;
  return true;
}

function matchesSource(s: AuthorizationSource, ctx: Ctx, mode: Mode): boolean {
  if ((s.requestPrincipals || s.notRequestPrincipals) && !unsupported(mode)) return false;
  return (
    field(s.principals, s.notPrincipals, (v) => stringMatch(v, ctx.principal)) &&
    field(s.namespaces, s.notNamespaces, (v) => stringMatch(v, ctx.namespace)) &&
    field(s.ipBlocks, s.notIpBlocks, (v) => ipMatch(v, ctx.ip)) &&
    field(s.remoteIpBlocks, s.notRemoteIpBlocks, (v) => ipMatch(v, ctx.ip))
  );
}

function matchesOperation(o: AuthorizationOperation, ctx: Ctx): boolean {
  const { req } = ctx;
  return (
    field(o.hosts, o.notHosts, (v) => stringMatch(v.toLowerCase(), req.host.toLowerCase())) &&
    field(o.ports, o.notPorts, (v) => v === String(req.port)) &&
    field(o.methods, o.notMethods, (v) => stringMatch(v, req.method)) &&
    field(o.paths, o.notPaths, (v) => pathMatch(v, ctx.path))
  );
}

function matchesCondition(c: AuthorizationCondition, ctx: Ctx, mode: Mode): boolean {
  const value = conditionValue(c.key, ctx);
  if (value === undefined) return unsupported(mode);
  const isIpKey = c.key === 'source.ip' || c.key === 'remote.ip';
  const test = (v: string) => (isIpKey ? ipMatch(v, value) : stringMatch(v, value));
  return field(c.values, c.notValues, test);
}

function conditionValue(key: string, ctx: Ctx): string | undefined {
  switch (key) {
    case 'source.principal':
      return ctx.principal;
    case 'source.namespace':
      return ctx.namespace;
    case 'source.ip':
    case 'remote.ip':
      return ctx.ip;
    case 'destination.port':
      return String(ctx.req.port);
  }
  const m = /^request\.headers\[(.+)\]$/.exec(key);
  if (!m) return undefined;
  const name = m[1].toLowerCase();
  const h = ctx.req.headers;
  const found: string[] = [];
  for (let i = 0; i < h.length; i += 2) if (h[i] === name) found.push(h[i + 1]);
  return found.join(',');
}

/** Istio's string match: `*` (any non-empty), `prefix*`, `*suffix`, else exact. */
export function stringMatch(pattern: string, value: string): boolean {
  if (pattern === '*') return value !== '';
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  return pattern === value;
}

/** Paths: the string match, or a template where `{*}` is one segment and `{**}` the rest. */
export function pathMatch(pattern: string, path: string): boolean {
  if (!pattern.includes('{*')) return stringMatch(pattern, path);
  const re = pattern
    .split('/')
    .map((seg) => (seg === '{*}' ? '[^/]+' : seg === '{**}' ? '.+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${re}$`).test(path);
}

const blocks = new Map<string, BlockList | null>();

function ipMatch(cidr: string, ip: string): boolean {
  if (!ip) return false;
  let list = blocks.get(cidr);
  if (list === undefined) {
    const [addr, bits] = cidr.split('/');
    const family = isIP(addr);
    list = null;
    if (family) {
      list = new BlockList();
      const type = family === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) list.addAddress(addr, type);
      else list.addSubnet(addr, Number(bits), type);
    }
    if (blocks.size < 10_000) blocks.set(cidr, list);
  }
  const family = isIP(ip);
  return list !== null && family !== 0 && list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

function stripMapped(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** The gateway's one call site: undefined when the call may go on, else why it is refused. */
export function refusal(
  authz: Authorizer,
  inventory: Inventory,
  callerId: string,
  route: { service: Service; port: { targetPort: number } },
  head: { method: string; path: string; authority: string; headers: string[] },
  remoteAddress: string,
): string | undefined {
  if (inventory.authorizationPolicies.length === 0) return undefined;
  const d = authz.decide(inventory, route.service, {
    caller: callerId ? inventory.workload(callerId) : undefined,
    callerAddress: remoteAddress,
    method: head.method,
    path: head.path,
    host: head.authority,
    port: route.port.targetPort,
    headers: head.headers,
  });
  return d.allowed ? undefined : d.reason;
}
