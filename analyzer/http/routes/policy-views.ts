// Pins and rules as the API shows them (ISO times), and which rules reach a service.
import type { Service } from '../../../contracts/index.ts';
import type { Pin, ScopeRule } from '../../index.ts';

export const pinView = (p: Pin) => ({ ...p, createdAt: new Date(p.createdAt).toISOString() });
export const ruleView = (r: ScopeRule) => ({ ...r, createdAt: new Date(r.createdAt).toISOString() });

/** The rules whose source pattern covers `s`: its id, `*`, or `*.NAMESPACE`. */
export function rulesFor(rules: ScopeRule[], s: Service): ScopeRule[] {
  return rules.filter((r) => r.source === s.id || r.source === '*' || r.source === `*.${s.namespace}`);
}
