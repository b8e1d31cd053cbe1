// The proxyless gRPC profile: for each listener name the client asked for
// (`xds:///name[:port]`), an API listener → the service port's route
// configuration → its EDS cluster. The client's own requests are its scope.
import { splitHostPort, type Inventory } from '../../contracts/index.ts';
import { grpcListener } from '../resources/listeners.ts';
import { TypeUrl, type EncodedResource } from '../types.ts';
import type { CacheContext } from './context.ts';
import { typeView, type CacheNode, type NodeConfig } from './node-handle.ts';
import { namespaceOf } from './node-identity.ts';
import type { PortResources, ServiceEntry, ServicePool } from './service-pool.ts';

export interface GrpcTarget {
  entry: ServiceEntry;
  port: PortResources;
}

/**
 * Resolves a listener name in the client's namespace. Without a port: the
 * service's only port, else its only gRPC port; anything else is ambiguous
 * and resolves to nothing (the client then reports the name as unknown).
 */
export function resolveGrpcTarget(inventory: Inventory, pool: ServicePool, name: string, namespace: string): GrpcTarget | undefined {
  const resolved = inventory.resolveAuthority(name, namespace);
  const entry = resolved && pool.get(resolved.service.id);
  if (!resolved || !entry) return undefined;
  let port = resolved.port;
  if (!port) {
    if (splitHostPort(name.trim().toLowerCase()).port !== undefined) return undefined;
    const ports = resolved.service.ports;
    const grpc = ports.filter((p) => p.protocol === 'grpc');
    port = ports.length === 1 ? ports[0] : grpc.length === 1 ? grpc[0] : undefined;
  }
  const resources = port && entry.port(port.port);
  return resources ? { entry, port: resources } : undefined;
}

export function grpcConfig(ctx: CacheContext, node: CacheNode): NodeConfig {
  const namespace = namespaceOf(node.node, node.workloadEntry);
  const listeners = new Map<string, EncodedResource>();
  const routes = new Map<string, EncodedResource>();
  const clusters = new Map<string, EncodedResource>();
  const loads = new Map<string, EncodedResource>();
  const scope = new Set<string>();
  for (const name of [...node.listenerNames].sort()) {
    const target = resolveGrpcTarget(ctx.inventory, ctx.pool, name, namespace);
    if (!target) continue;
    const route = target.port.grpcRoute();
    listeners.set(name, ctx.memo.get(`grpc|${name}|${route.name}`, () => grpcListener(name, route.name)));
    routes.set(route.name, route);
    clusters.set(target.port.cluster.name, target.port.cluster);
    loads.set(target.port.load.name, target.port.load);
    scope.add(target.entry.service.id);
  }
  node.scope = [...scope].sort();
  return {
    [TypeUrl.Listener]: typeView(listeners),
    [TypeUrl.Route]: typeView(routes),
    [TypeUrl.Cluster]: typeView(clusters),
    [TypeUrl.Endpoint]: typeView(loads),
  };
}
