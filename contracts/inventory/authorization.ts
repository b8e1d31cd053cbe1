// Istio security.istio.io AuthorizationPolicy, as the inventory carries it: the
// fields of the resource, unevaluated, so the lazy gateway can decide a first
// call the way the destination's sidecar would decide the direct one
// (lazy-gateway/authz.ts evaluates; kubernetes/map-authz.ts fills this in).

export type AuthorizationAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

export interface AuthorizationPolicy {
  name: string;
  namespace: string;
  action: AuthorizationAction;
  /**
   * spec.selector.matchLabels. Absent: every workload of the namespace, or of the
   * whole mesh when the policy lives in the root namespace.
   */
  selector?: Readonly<Record<string, string>>;
  /** spec.targetRef(s) present: the policy names a Gateway or Service, not sidecar workloads. */
  targetRefs?: boolean;
  /** The CUSTOM action's extension provider. */
  provider?: string;
  /** spec.rules; a policy without rules matches no request. */
  rules: readonly AuthorizationRule[];
}

/** A rule matches when one `from`, one `to` and every `when` match (an absent list always matches). */
export interface AuthorizationRule {
  from?: readonly AuthorizationSource[];
  to?: readonly AuthorizationOperation[];
  when?: readonly AuthorizationCondition[];
}

/** Every field given must match; within a field any value does (not* fields: none does). */
export interface AuthorizationSource {
  principals?: readonly string[];
  notPrincipals?: readonly string[];
  namespaces?: readonly string[];
  notNamespaces?: readonly string[];
  ipBlocks?: readonly string[];
  notIpBlocks?: readonly string[];
  remoteIpBlocks?: readonly string[];
  notRemoteIpBlocks?: readonly string[];
  requestPrincipals?: readonly string[];
  notRequestPrincipals?: readonly string[];
}

export interface AuthorizationOperation {
  hosts?: readonly string[];
  notHosts?: readonly string[];
  ports?: readonly string[];
  notPorts?: readonly string[];
  methods?: readonly string[];
  notMethods?: readonly string[];
  paths?: readonly string[];
  notPaths?: readonly string[];
}

export interface AuthorizationCondition {
  key: string;
  values?: readonly string[];
  notValues?: readonly string[];
}

/** Istio's default root namespace: its policies without a selector apply to every workload. */
export const ISTIO_ROOT_NAMESPACE = 'istio-system';
/** Istio's default trust domain: principals read `cluster.local/ns/NS/sa/SA`. */
export const ISTIO_TRUST_DOMAIN = 'cluster.local';
