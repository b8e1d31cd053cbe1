// Every resource that depends on one service only, built once per content and
// carried over inventory versions: an endpoint change re-encodes that
// service's ClusterLoadAssignments and nothing else.
import type { Inventory, Service, ServiceId, ServicePort } from '../../contracts/index.ts';
import { outboundCluster } from '../resources/clusters.ts';
import { loadAssignment } from '../resources/endpoints.ts';
import { grpcRoute, virtualHostsFragment } from '../resources/routes.ts';
import type { EncodedResource } from '../types.ts';

export interface PortResources {
  readonly port: ServicePort;
  readonly cluster: EncodedResource;
  readonly load: EncodedResource;
  /** Proxyless route configuration for this port, built on first use. */
  grpcRoute(): EncodedResource;
}

class PortEntry implements PortResources {
  private route?: EncodedResource;

  constructor(
    readonly service: Service,
    readonly port: ServicePort,
    readonly clusterKey: string,
    readonly cluster: EncodedResource,
    readonly loadKey: string,
    readonly load: EncodedResource,
    route?: EncodedResource,
  ) {
    this.route = route;
  }

  get builtRoute(): EncodedResource | undefined {
    return this.route;
  }

  grpcRoute(): EncodedResource {
    this.route ??= grpcRoute(this.service, this.port);
    return this.route;
  }
}

export class ServiceEntry {
  private readonly fragments = new Map<boolean, Buffer>();

  constructor(
    readonly service: Service,
    readonly ports: readonly PortEntry[],
    /** What the virtual hosts depend on: every spelling and port of the service. */
    readonly routeKey: string,
    private readonly inventory: Inventory,
    reuseFragments?: ServiceEntry,
  ) {
    if (reuseFragments) for (const [k, v] of reuseFragments.fragments) this.fragments.set(k, v);
  }

  /** The service's virtual hosts as seen from `callerNamespace` (the short name only from its own). */
  fragment(callerNamespace: string): Buffer {
    const local = callerNamespace === this.service.namespace;
    let f = this.fragments.get(local);
    if (!f) {
      f = virtualHostsFragment(this.inventory, this.service, callerNamespace);
      this.fragments.set(local, f);
    }
    return f;
  }

  port(port: number): PortEntry | undefined {
    return this.ports.find((p) => p.port.port === port);
  }
}

export class ServicePool {
  private readonly entries = new Map<ServiceId, ServiceEntry>();

  constructor(
    readonly inventory: Inventory,
    previous?: ServicePool,
  ) {
    for (const service of inventory.services) this.entries.set(service.id, build(inventory, service, previous?.entries.get(service.id)));
  }

  get(id: ServiceId): ServiceEntry | undefined {
    return this.entries.get(id);
  }
}

function build(inventory: Inventory, service: Service, before: ServiceEntry | undefined): ServiceEntry {
  const ports = service.ports.map((port) => {
    const clusterKey = `${service.fqdn}|${port.port}|${port.protocol}`;
    const loadKey = `${clusterKey}|${port.targetPort}|${service.workloads.map((w) => w.address).join(',')}`;
    const old = before?.port(port.port);
    const same = old !== undefined && old.clusterKey === clusterKey;
    const cluster = same ? old.cluster : outboundCluster(service, port);
    const load = same && old.loadKey === loadKey ? old.load : loadAssignment(service, port);
    return new PortEntry(service, port, clusterKey, cluster, loadKey, load, same ? old.builtRoute : undefined);
  });
  const routeKey = JSON.stringify([service.id, service.fqdn, service.clusterIP, service.ports]);
  return new ServiceEntry(service, ports, routeKey, inventory, before?.routeKey === routeKey ? before : undefined);
}
