// Istio mode: scopes become `networking.istio.io/v1` Sidecar resources and
// istiod does the pushing. See README.md "Install next to Istio".
export { buildSidecar, egressHost, gatewayFqdn, MANAGED_BY_LABEL, MANAGER, type GatewayService, type SidecarObject, type SidecarSpecOptions } from './sidecar-spec.ts';
export { findGroups, selectorLabels, VOLATILE_LABELS, type WorkloadGroup, type GroupSkip } from './groups.ts';
export { foreignClaim, isOwn, type KubeSidecar } from './ownership.ts';
export { kubeSidecarApi, loadKubeConfig, SidecarWriteError, type SidecarApi } from './sidecar-api.ts';
export { SidecarStore, type SidecarView } from './sidecar-store.ts';
export { SidecarWriter, sameSidecar, type GroupStatus, type SidecarState, type SidecarWriterOptions } from './writer.ts';
export { istioSidecarRoutes } from './http.ts';
export { sidecarMetrics } from './metrics.ts';
export { startIstioSidecars, defaultAlwaysVisible, type IstioSidecarOptions, type IstioSidecars } from './start.ts';
export { parseAlwaysVisible, parseGatewayService } from './options.ts';
