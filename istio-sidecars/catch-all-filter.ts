// The EnvoyFilter that goes with each meshscope Sidecar: it points the HTTP
// catch-all route (`allow_any`, on every outbound route configuration) of the
// group's proxies at the lazy gateway. The Sidecar's egressProxy already does
// that, and also for the TCP catch-all — but istiod's route cache key leaves
// the egress proxy out, so a scoped proxy can be served a route another
// proxy's scope produced, whose catch-all is PassthroughCluster. An
// EnvoyFilter's key is part of that cache key. See docs/istio-fallback.md.
//
// Same name, namespace, labels (the install's) and workloadSelector as the
// Sidecar; applied after it (server-side apply, the install's field manager),
// deleted with it — only if it is still this install's.
import { ApiException, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesListObject } from '@kubernetes/client-node';
import { managerOf, type Instance } from './instance.ts';
import { isOwn, type KubeObject } from './ownership.ts';
import { gatewayFqdn, type GatewayService, type SidecarObject } from './sidecar-spec.ts';
import type { SidecarWriter } from './writer.ts';

/** istiod's name for the catch-all virtual host and its route (util.Passthrough). */
export const CATCH_ALL_ROUTE = 'allow_any';

export interface EnvoyFilterObject {
  apiVersion: 'networking.istio.io/v1alpha3';
  kind: 'EnvoyFilter';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    workloadSelector: { labels: Record<string, string> };
    configPatches: Array<Record<string, unknown>>;
  };
}

export function buildCatchAllFilter(sidecar: SidecarObject, gateway: GatewayService, clusterDomain: string): EnvoyFilterObject {
  const cluster = `outbound|${gateway.port}||${gatewayFqdn(gateway, clusterDomain)}`;
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name: sidecar.metadata.name, namespace: sidecar.metadata.namespace, labels: { ...sidecar.metadata.labels } },
    spec: {
      workloadSelector: { labels: { ...sidecar.spec.workloadSelector.labels } },
      configPatches: [
        {
          applyTo: 'HTTP_ROUTE',
          match: { context: 'SIDECAR_OUTBOUND', routeConfiguration: { vhost: { name: CATCH_ALL_ROUTE, route: { name: CATCH_ALL_ROUTE } } } },
          patch: { operation: 'MERGE', value: { route: { cluster } } },
        },
      ],
    },
  };
}

export interface EnvoyFilterApi {
  apply(obj: EnvoyFilterObject): Promise<void>;
  /** Deletes it if it is `instance`'s; false when one is there that is not (left alone). */
  delete(namespace: string, name: string, instance: Instance): Promise<boolean>;
}

export function kubeEnvoyFilterApi(kc: KubeConfig): EnvoyFilterApi {
  const api = kc.makeApiClient(CustomObjectsApi);
  const ssa = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  const target = { group: 'networking.istio.io', version: 'v1alpha3', plural: 'envoyfilters' };
  return {
    async apply(obj) {
      const { name, namespace } = obj.metadata;
      try {
        await api.patchNamespacedCustomObject({ ...target, namespace, name, body: obj, fieldManager: managerOf(obj), force: false, fieldValidation: 'Strict' }, ssa);
      } catch (err) {
        throw new Error(`apply EnvoyFilter ${namespace}/${name}: ${err instanceof ApiException ? `${err.code} ${String(err.body).slice(0, 300)}` : (err as Error).message}`);
      }
    },
    async delete(namespace, name, instance) {
      try {
        // Read first (list by name: the chart grants list, not get): another install may have
        // written one of this name since this install's Sidecar went. The preconditions make
        // sure what is deleted is what was read.
        const list = (await api.listNamespacedCustomObject({ ...target, namespace, fieldSelector: `metadata.name=${name}` })) as KubernetesListObject<KubeObject>;
        const found = list.items[0];
        if (!found) return true;
        if (!isOwn(found, instance)) return false;
        const { uid, resourceVersion } = found.metadata;
        await api.deleteNamespacedCustomObject({ ...target, namespace, name, body: { preconditions: { uid, resourceVersion } } });
        return true;
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return true;
        throw new Error(`delete EnvoyFilter ${namespace}/${name}: ${err instanceof ApiException ? `${err.code} ${String(err.body).slice(0, 300)}` : (err as Error).message}`);
      }
    },
  };
}

/**
 * Keeps one catch-all EnvoyFilter per meshscope Sidecar: applied on every
 * Sidecar apply (and, at start, for every Sidecar already current — a crash
 * between the two writes is repaired), deleted with the Sidecar. Returns a
 * detach function.
 */
export function attachCatchAllFilters(
  writer: SidecarWriter,
  api: EnvoyFilterApi,
  gateway: GatewayService,
  clusterDomain: string,
  log: (msg: string) => void = () => {},
): () => void {
  if (writer.dryRun) return () => {};
  const apply = (s: SidecarObject) =>
    api.apply(buildCatchAllFilter(s, gateway, clusterDomain)).catch((err: Error) => log(`istio sidecars: ${err.message}`));
  const onApplied = (s: SidecarObject) => void apply(s);
  const onDeleted = (namespace: string, name: string) =>
    void api
      .delete(namespace, name, writer.instance)
      .then((done) => done || log(`istio sidecars: EnvoyFilter ${namespace}/${name} is not this install's (instance "${writer.instance.name}"); left alone`))
      .catch((err: Error) => log(`istio sidecars: ${err.message}`));
  writer.on('applied', onApplied);
  writer.on('deleted', onDeleted);
  void writer.idle().then(() => {
    for (const g of writer.status().groups) if (g.sidecar && (g.state === 'current' || g.state === 'written')) void apply(g.sidecar);
  });
  return () => {
    writer.off('applied', onApplied);
    writer.off('deleted', onDeleted);
  };
}
