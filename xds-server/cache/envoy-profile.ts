// The Envoy sidecar profile: egress listener → outbound route (the scoped
// services' virtual hosts, then the catch-all to the lazy gateway) → EDS
// clusters; ingress listener → inbound route → the workload's own ports.
import { inboundCluster } from '../resources/clusters.ts';
import { egressListener, ingressListener } from '../resources/listeners.ts';
import { httpPorts } from '../resources/names.ts';
import { inboundRoute } from '../resources/routes.ts';
import { sidecarSettings } from '../resources/sidecar-settings.ts';
import { contentVersion } from '../set-version.ts';
import { TypeUrl, type EncodedResource } from '../types.ts';
import type { CacheContext } from './context.ts';
import { LayeredMap } from './layered-map.ts';
import { typeView, type CacheNode, type NodeConfig } from './node-handle.ts';
import { namespaceOf, sourceOf } from './node-identity.ts';
import { ScopeView, scopeKey } from './scope-views.ts';

export function envoyConfig(ctx: CacheContext, node: CacheNode): NodeConfig {
  const { inventory, memo } = ctx;
  const workload = node.workloadEntry;
  const namespace = namespaceOf(node.node, workload);
  const scope = ctx.scopes.declared(workload).filter((id) => inventory.service(id) !== undefined);
  node.scope = scope;

  const key = scopeKey(namespace, ctx.lazy ? scope : '*');
  const view = ctx.views.acquire(key, () => new ScopeView(key, ctx.lazy ? scope : '*', ctx.pool, namespace, ctx.gatewayFragment));
  ctx.views.release(node.view);
  node.view = view;

  const settings = sidecarSettings(node.node.metadata);
  const at = `${settings.bindAddress}|${settings.egressPort}|${settings.ingressPort}|${settings.workloadAddress}`;
  const source = sourceOf(node.node, workload);
  const listeners = new Map<string, EncodedResource>();
  const routes = new Map<string, EncodedResource>([[view.route.name, view.route]]);
  const own = new Map<string, EncodedResource>();
  if (ctx.gatewayCluster) own.set(ctx.gatewayCluster.name, ctx.gatewayCluster);
  if (ctx.accessLogCluster) own.set(ctx.accessLogCluster.name, ctx.accessLogCluster);

  // Whether it logs is fixed for the cache's life, so it needs no place in the memo key.
  const egress = memo.get(`egress|${at}|${source}`, () => egressListener(settings, source, ctx.accessLogCluster !== undefined));
  listeners.set(egress.name, egress);

  const service = workload && inventory.service(workload.service);
  const ports = service ? httpPorts(service) : [];
  if (service && ports.length > 0) {
    const ingress = memo.get(`ingress|${at}`, () => ingressListener(settings));
    listeners.set(ingress.name, ingress);
    const route = memo.get(`inbound-route|${JSON.stringify(service.ports)}`, () => inboundRoute(service)!);
    routes.set(route.name, route);
    for (const port of ports) {
      const c = memo.get(`inbound|${settings.workloadAddress}|${port.targetPort}|${port.protocol}`, () => inboundCluster(port, settings.workloadAddress));
      own.set(c.name, c);
    }
  }

  return {
    [TypeUrl.Listener]: typeView(listeners),
    [TypeUrl.Route]: typeView(routes),
    [TypeUrl.Cluster]: { map: new LayeredMap(view.clusters, own), digest: `${view.clustersDigest}|${contentVersion(own.values())}` },
    [TypeUrl.Endpoint]: { map: view.loads, digest: view.loadsDigest },
  };
}
