// Istio mode: scopes become `networking.istio.io/v1` Sidecar resources and
// istiod does the pushing. See README.md "Install next to Istio".
export { buildSidecar, egressHost, gatewayFqdn, type GatewayService, type SidecarObject, type SidecarSpecOptions } from './sidecar-spec.ts';
export { DEFAULT_INSTANCE, fieldManager, identityLabels, instanceNamed, instanceOf, INSTANCE_LABEL, MANAGED_BY, MANAGED_BY_LABEL, type Instance } from './instance.ts';
export { findGroups, selectorLabels, VOLATILE_LABELS, type WorkloadGroup, type GroupSkip } from './groups.ts';
export { foreignClaim, isOwn, type KubeObject, type KubeSidecar } from './ownership.ts';
export { kubeSidecarApi, loadKubeConfig, SidecarWriteError, type SidecarApi } from './sidecar-api.ts';
export { SidecarStore, type SidecarView } from './sidecar-store.ts';
export { SidecarWriter, sameSidecar, type GroupStatus, type SidecarState, type SidecarWriterOptions } from './writer.ts';
export { istioSidecarRoutes } from './http.ts';
export { sidecarMetrics } from './metrics.ts';
export { DEFAULT_PRUNE_GRACE_MS, type PruneStatus } from './prunes.ts';
export { startIstioSidecars, defaultAlwaysVisible, type IstioSidecarOptions, type IstioSidecars } from './start.ts';
export { parseAlwaysVisible, parseGatewayService, parseInstance } from './options.ts';
