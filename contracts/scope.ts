// How the analyzer directs the xDS server: the set of services each caller
// must see. The xDS server owns pushing; the analyzer owns deciding.
import type { ServiceId, WorkloadId } from './inventory/model.ts';

export interface ScopeTarget {
  /** The services every workload of `service` must see. Replaces the previous scope. */
  setServiceScope(service: ServiceId, deps: Iterable<ServiceId>): void;
  /** Overrides one workload's scope; `undefined` returns it to its service's scope. */
  setWorkloadScope(workload: WorkloadId, deps: Iterable<ServiceId> | undefined): void;
}

export const SOURCE_HEADER = 'x-meshscope-source';

/**
 * How long the lazy gateway keeps an idle HTTP/1.1 caller connection. Sidecars
 * drop their idle connections to it sooner, so they never send a request on
 * one the gateway is closing.
 */
export const GATEWAY_IDLE_TIMEOUT_MS = 65_000;
export const SIDECAR_GATEWAY_IDLE_TIMEOUT_MS = 60_000;

/** What the xDS server knows of one connected proxy, as the API shows it. */
export interface ProxyStatus {
  nodeId: string;
  workload?: WorkloadId;
  service?: ServiceId;
  profile: 'envoy' | 'grpc';
  streams: number;
  connectedAt: string;
  types: Record<string, TypeStatus>;
  bytesPushed: number;
  scope: ServiceId[];
}

export interface TypeStatus {
  subscribed: string[] | '*';
  versionSent?: string;
  versionAcked?: string;
  nonceSent?: string;
  lastNack?: { version?: string; message: string; at: string };
  resources: number;
}

/** Per-proxy config size with lazy scoping on (`scoped`) and off (`full`). */
export interface ProxyBytes {
  workload: WorkloadId;
  clusters: number;
  bytesScoped: number;
  bytesFull: number;
}
