// The check of fixture-format.md: per source service, what expected.yaml
// names but replay did not scope (missing) and the reverse (unexpected). A
// service expected.yaml does not name is expected to have an empty scope.
import type { ServiceId } from '../../contracts/index.ts';
import type { Expected } from './expected.ts';

export interface Check {
  ok: boolean;
  missing: Record<ServiceId, ServiceId[]>;
  unexpected: Record<ServiceId, ServiceId[]>;
}

export function checkScopes(expected: Expected, actual: Map<ServiceId, readonly ServiceId[]>): Check {
  const missing: Record<ServiceId, ServiceId[]> = {};
  const unexpected: Record<ServiceId, ServiceId[]> = {};
  // Sorted like the report's scopes, so a failing check prints the same way every run.
  for (const service of [...actual.keys()].sort()) {
    const got = actual.get(service) ?? [];
    const want = expected.get(service) ?? [];
    const m = want.filter((d) => !got.includes(d));
    const u = got.filter((d) => !want.includes(d));
    if (m.length > 0) missing[service] = m;
    if (u.length > 0) unexpected[service] = u;
  }
  return { ok: Object.keys(missing).length === 0 && Object.keys(unexpected).length === 0, missing, unexpected };
}
