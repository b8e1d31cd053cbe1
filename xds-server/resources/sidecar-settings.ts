// Where an Envoy sidecar listens and where its workload runs, from node
// metadata (set by `meshscope bootstrap`). Envoy sends metadata as a Struct, so
// numbers may arrive as strings or doubles.
import { isIP } from 'node:net';

export interface SidecarSettings {
  /** MESH_BIND_ADDRESS: where the egress and ingress listeners bind. */
  bindAddress: string;
  /** MESH_EGRESS_PORT: applications send every outbound request here. */
  egressPort: number;
  /** MESH_INGRESS_PORT: inbound requests for the workload's own ports. */
  ingressPort: number;
  /** MESH_WORKLOAD_ADDRESS: where the ingress listener reaches the workload. */
  workloadAddress: string;
}

export const SIDECAR_DEFAULTS: SidecarSettings = {
  bindAddress: '127.0.0.1',
  egressPort: 15001,
  ingressPort: 15006,
  workloadAddress: '127.0.0.1',
};

export const METADATA_KEYS = {
  bindAddress: 'MESH_BIND_ADDRESS',
  egressPort: 'MESH_EGRESS_PORT',
  ingressPort: 'MESH_INGRESS_PORT',
  workloadAddress: 'MESH_WORKLOAD_ADDRESS',
} as const;

function port(v: unknown, fallback: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  // 0 lets the kernel pick (tests read the bound port from Envoy's admin API).
  return Number.isInteger(n) && n >= 0 && n < 65536 ? n : fallback;
}

function address(v: unknown, fallback: string): string {
  return typeof v === 'string' && isIP(v) !== 0 ? v : fallback;
}

export function sidecarSettings(metadata: Record<string, unknown>): SidecarSettings {
  return {
    bindAddress: address(metadata[METADATA_KEYS.bindAddress], SIDECAR_DEFAULTS.bindAddress),
    egressPort: port(metadata[METADATA_KEYS.egressPort], SIDECAR_DEFAULTS.egressPort),
    ingressPort: port(metadata[METADATA_KEYS.ingressPort], SIDECAR_DEFAULTS.ingressPort),
    workloadAddress: address(metadata[METADATA_KEYS.workloadAddress], SIDECAR_DEFAULTS.workloadAddress),
  };
}
