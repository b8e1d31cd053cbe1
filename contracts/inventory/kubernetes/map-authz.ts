// security.istio.io AuthorizationPolicy object → the inventory's model. Field
// names stay Istio's; nothing is evaluated here (lazy-gateway/authz.ts does).
import type { AuthorizationAction, AuthorizationCondition, AuthorizationOperation, AuthorizationPolicy, AuthorizationRule, AuthorizationSource } from '../authorization.ts';

type Raw = Record<string, any>;

const ACTIONS: readonly AuthorizationAction[] = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'];

const strings = (v: unknown): readonly string[] | undefined => (Array.isArray(v) ? v.map(String) : undefined);

function pick<T extends object>(o: Raw | undefined, fields: readonly string[]): T | undefined {
  if (!o) return undefined;
  const out: Record<string, readonly string[]> = {};
  for (const f of fields) {
    const v = strings(o[f]);
    if (v) out[f] = v;
  }
  return out as T;
}

const SOURCE_FIELDS = ['principals', 'notPrincipals', 'namespaces', 'notNamespaces', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks', 'requestPrincipals', 'notRequestPrincipals'];
const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'];

export function mapAuthorizationPolicy(o: Raw): AuthorizationPolicy & { resourceVersion: string } {
  const spec: Raw = o.spec ?? {};
  const action = (ACTIONS as string[]).includes(spec.action) ? (spec.action as AuthorizationAction) : 'ALLOW';
  const rules: AuthorizationRule[] = (spec.rules ?? []).map((r: Raw) => {
    const rule: { from?: AuthorizationSource[]; to?: AuthorizationOperation[]; when?: AuthorizationCondition[] } = {};
    // An empty source/operation object matches anything, like an absent one.
    if (Array.isArray(r.from)) rule.from = r.from.map((f: Raw) => pick<AuthorizationSource>(f.source, SOURCE_FIELDS) ?? {});
    if (Array.isArray(r.to)) rule.to = r.to.map((t: Raw) => pick<AuthorizationOperation>(t.operation, OPERATION_FIELDS) ?? {});
    if (Array.isArray(r.when)) rule.when = r.when.map((c: Raw) => ({ key: String(c.key ?? ''), values: strings(c.values), notValues: strings(c.notValues) }));
    return rule;
  });
  const policy: AuthorizationPolicy & { resourceVersion: string } = {
    name: o.metadata?.name ?? '',
    namespace: o.metadata?.namespace ?? '',
    resourceVersion: o.metadata?.resourceVersion ?? '',
    action,
    rules,
  };
  const labels = spec.selector?.matchLabels;
  if (labels && Object.keys(labels).length) policy.selector = { ...labels };
  if (spec.targetRef || (Array.isArray(spec.targetRefs) && spec.targetRefs.length)) policy.targetRefs = true;
  if (spec.provider?.name) policy.provider = String(spec.provider.name);
  return policy;
}

/** The model without the informer's bookkeeping field. */
export function policyModel(p: AuthorizationPolicy & { resourceVersion?: string }): AuthorizationPolicy {
  const { resourceVersion: _rv, ...model } = p;
  return model;
}
