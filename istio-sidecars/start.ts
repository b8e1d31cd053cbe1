// Istio mode's scope sink, ready to attach: the kubeconfig (or in-cluster
// credentials), the Sidecar view synced, the writer started. Closing stops
// the writer first, then the watch.
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeSidecarApi, loadKubeConfig, type SidecarApi } from './sidecar-api.ts';
import type { GatewayService } from './sidecar-spec.ts';
import { SidecarStore } from './sidecar-store.ts';
import { instanceNamed } from './instance.ts';
import type { InventorySource } from '../contracts/index.ts';
import { SidecarWriter, type SidecarWriterOptions } from './writer.ts';

export interface IstioSidecarOptions {
  /** Where Sidecars are written: a kubeconfig file; unset, the inventory's cluster or the pod's service account. */
  kubeconfig?: string;
  dryRun?: boolean;
  gateway?: GatewayService;
  /** `ns/host` entries every Sidecar keeps; default istio-system/* and the gateway's namespace. */
  alwaysVisible?: readonly string[];
  /** Namespaces meshscope writes no Sidecars in; default istio-system and the gateway's namespace. */
  ignoreNamespaces?: readonly string[];
  /** This install's name (`--instance`, a DNS label): its objects' instance label and field manager. */
  instance: string;
  /** How long a Sidecar no group needs stays before it is deleted (default 60 s). */
  pruneGraceMs?: number;
  tuning?: Pick<SidecarWriterOptions, 'quietMs' | 'maxDelayMs' | 'qps' | 'burst' | 'concurrency'>;
  /** istiod's debug endpoint (`/debug/syncz`), for time-to-direct; unset: not measured. */
  istiod?: string;
}

export interface IstioSidecars {
  writer: SidecarWriter;
  close(): Promise<void>;
}

export function defaultAlwaysVisible(gateway?: GatewayService): string[] {
  return ['istio-system/*', ...(gateway ? [`${gateway.namespace}/*`] : [])];
}

export async function startIstioSidecars(
  opts: IstioSidecarOptions & {
    inventory: InventorySource;
    kc?: KubeConfig;
    api?: SidecarApi;
    log?: (msg: string) => void;
  },
): Promise<IstioSidecars> {
  const kc = opts.kc ?? loadKubeConfig(opts.kubeconfig);
  const store = new SidecarStore(kc, opts.log);
  await store.start();
  const writer = new SidecarWriter({
    inventory: opts.inventory,
    sidecars: store,
    api: opts.api ?? kubeSidecarApi(kc),
    alwaysVisible: opts.alwaysVisible ?? defaultAlwaysVisible(opts.gateway),
    gateway: opts.gateway,
    dryRun: opts.dryRun,
    instance: instanceNamed(opts.instance),
    pruneGraceMs: opts.pruneGraceMs,
    ignoreNamespaces: opts.ignoreNamespaces ?? ['istio-system', ...(opts.gateway ? [opts.gateway.namespace] : [])],
    log: opts.log,
    ...opts.tuning,
  });
  return {
    writer,
    close: async () => {
      await writer.close();
      await store.close();
    },
  };
}
