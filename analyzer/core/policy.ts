// What users add to scopes by hand: pins (one dependency the traffic may not
// show yet) and rules (a whole namespace, or every service whose workloads
// carry some labels). Both are stored; scopes.ts merges them with the edges.
import type { Inventory, Service, ServiceId } from '../../contracts/index.ts';
import { isLabelValue, LABEL_VALUE_SYNTAX, labelKeyProblem } from '../../contracts/kube-names.ts';

export interface Pin {
  source: ServiceId;
  dest: ServiceId;
  note?: string;
  createdAt: number;
}

export interface ScopeRule {
  id: string;
  /** The callers it applies to: a service id, `*` (every service) or `*.NAMESPACE`. */
  source: string;
  /** Adds every service of this namespace (except the caller itself). */
  namespace?: string;
  /** Adds every service with a workload carrying all these labels (except the caller itself). */
  selector?: Record<string, string>;
  note?: string;
  createdAt: number;
}

export class Policy {
  readonly pins = new Map<string, Pin>();
  readonly rules = new Map<string, ScopeRule>();

  addPin(pin: Pin): void {
    this.pins.set(`${pin.source} ${pin.dest}`, pin);
  }

  removePin(source: ServiceId, dest: ServiceId): boolean {
    return this.pins.delete(`${source} ${dest}`);
  }

  pinsOf(source: ServiceId): Pin[] {
    const out: Pin[] = [];
    for (const p of this.pins.values()) if (p.source === source) out.push(p);
    return out;
  }

  /** Calls `fn` for each service a rule adds to `caller`'s scope, with that rule (a service twice if two rules add it). */
  forEachRuleTarget(caller: Service, inv: Inventory, fn: (dest: ServiceId, rule: ScopeRule) => void): void {
    for (const r of this.rules.values()) {
      if (!appliesTo(r.source, caller)) continue;
      for (const s of inv.services) {
        if (s.id !== caller.id && matches(r, s)) fn(s.id, r);
      }
    }
  }

  /** Callers whose pins or rule targets a change of these services may alter. */
  affectedBy(changed: ReadonlySet<ServiceId>, previous: Inventory, next: Inventory): Set<ServiceId> {
    const out = new Set<ServiceId>();
    for (const p of this.pins.values()) if (changed.has(p.dest)) out.add(p.source);
    for (const r of this.rules.values()) {
      const moved = [...changed].some((id) => {
        const before = previous.service(id);
        const after = next.service(id);
        return (before !== undefined && matches(r, before)) !== (after !== undefined && matches(r, after));
      });
      if (moved) for (const c of Policy.callersOf(r.source, next)) out.add(c);
    }
    return out;
  }

  /** Callers whose scope a rule with this source pattern may change. */
  static callersOf(pattern: string, inv: Inventory): ServiceId[] {
    return inv.services.filter((s) => appliesTo(pattern, s)).map((s) => s.id);
  }
}

function appliesTo(pattern: string, s: Service): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return s.namespace === pattern.slice(2);
  return pattern === s.id;
}

function matches(r: ScopeRule, s: Service): boolean {
  if (r.namespace !== undefined) return s.namespace === r.namespace;
  const sel = Object.entries(r.selector ?? {});
  return s.workloads.some((w) => sel.every(([k, v]) => w.labels[k] === v));
}

/** Checks a rule from the API; the message names the field and the fix. */
export function validateRule(r: Partial<ScopeRule>): void {
  if (typeof r.id !== 'string' || !/^[A-Za-z0-9][\w.-]{0,62}$/.test(r.id)) {
    throw new Error('rule.id: expected a name of letters, digits, ".", "_" or "-" (up to 63 characters)');
  }
  if (typeof r.source !== 'string' || !/^(\*|\*\.[a-z0-9-]+|[a-z0-9-]+\.[a-z0-9-]+)$/.test(r.source)) {
    throw new Error('rule.source: expected a service id NAME.NAMESPACE, "*" for every service, or "*.NAMESPACE"');
  }
  const hasNs = r.namespace !== undefined;
  const hasSel = r.selector !== undefined;
  if (hasNs === hasSel) throw new Error('rule: give exactly one of namespace (a whole namespace) or selector (workload labels)');
  if (hasNs && (typeof r.namespace !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(r.namespace))) {
    throw new Error('rule.namespace: expected a namespace name (a DNS label)');
  }
  if (hasSel) {
    const sel = r.selector as unknown;
    if (typeof sel !== 'object' || sel === null || Array.isArray(sel) || Object.keys(sel).length === 0) {
      throw new Error('rule.selector: expected a non-empty mapping of label name to value, e.g. {"team": "payments"}');
    }
    for (const [k, v] of Object.entries(sel)) {
      const at = `rule ${r.id}: selector`;
      const keyProblem = labelKeyProblem(k);
      if (keyProblem) throw new Error(`${at} key ${JSON.stringify(k)} is not a Kubernetes label key: ${keyProblem}`);
      if (typeof v !== 'string') throw new Error(`${at}.${k}: expected a string label value`);
      if (!isLabelValue(v)) {
        throw new Error(`${at}.${k}: value ${JSON.stringify(v)} is not a Kubernetes label value: ${LABEL_VALUE_SYNTAX}`);
      }
    }
  }
}
