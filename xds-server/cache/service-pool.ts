// Every resource that depends on one service only, built once per content and
// carried over inventory versions: an endpoint change re-encodes that
// service's ClusterLoadAssignments and nothing else, and `changed` names the
// services whose resources differ so the cache revisits only what uses them.
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
  constructor(
    readonly service: Service,
    readonly port: ServicePort,
    readonly cluster: EncodedResource,
    readonly load: EncodedResource,
    private route?: EncodedResource,
  ) {}

  get builtRoute(): EncodedResource | undefined {
    return this.route;
  }

  grpcRoute(): EncodedResource {
    this.route ??= grpcRoute(this.service, this.port);
    return this.route;
  }
}

export class ServiceEntry {
  /** Encoded virtual hosts, seen from the service's own namespace (true) or another (false). */
  private readonly fragments: Map<boolean, Buffer>;

  constructor(
    readonly service: Service,
    readonly ports: readonly PortEntry[],
    fragments?: Map<boolean, Buffer>,
  ) {
    this.fragments = fragments ?? new Map();
  }

  /** The service's virtual hosts as seen from `callerNamespace` (the short name only from its own). */
  fragment(callerNamespace: string, inventory: Inventory): Buffer {
    const local = callerNamespace === this.service.namespace;
    let f = this.fragments.get(local);
    if (!f) {
      f = virtualHostsFragment(inventory, this.service, callerNamespace);
      this.fragments.set(local, f);
    }
    return f;
  }

  port(port: number): PortEntry | undefined {
    return this.ports.find((p) => p.port.port === port);
  }

  sharedFragments(): Map<boolean, Buffer> {
    return this.fragments;
  }
}

export class ServicePool {
  private readonly entries: Map<ServiceId, ServiceEntry>;
  /** Services added, removed, or whose resources differ from the previous pool's. */
  readonly changed = new Set<ServiceId>();

  /**
   * With `delta` (the services the inventory changed since `previous`'s), only
   * those are revisited and `previous` hands its entries over: it is spent.
   */
  constructor(
    readonly inventory: Inventory,
    previous?: ServicePool,
    delta?: ReadonlySet<ServiceId>,
  ) {
    if (previous && delta) {
      this.entries = previous.entries;
      for (const id of delta) {
        const service = inventory.service(id);
        const before = this.entries.get(id);
        if (!service) {
          if (this.entries.delete(id)) this.changed.add(id);
          continue;
        }
        const entry = before && sameResources(before.service, service) ? before : build(service, before);
        this.entries.set(id, entry);
        if (entry !== before) this.changed.add(id);
      }
      return;
    }
    this.entries = new Map();
    for (const service of inventory.services) {
      const before = previous?.entries.get(service.id);
      const entry = before && sameResources(before.service, service) ? before : build(service, before);
      this.entries.set(service.id, entry);
      if (previous && entry !== before) this.changed.add(service.id);
    }
    if (previous) for (const id of previous.entries.keys()) if (!this.entries.has(id)) this.changed.add(id);
  }

  get(id: ServiceId): ServiceEntry | undefined {
    return this.entries.get(id);
  }
}

// Compared field by field rather than through a serialized key: a mesh.yaml
// reload brings fresh objects for every service, and most of them are equal.
function samePort(a: ServicePort, b: ServicePort): boolean {
  return a.port === b.port && a.targetPort === b.targetPort && a.protocol === b.protocol;
}

function sameShape(a: Service, b: Service): boolean {
  return a.id === b.id && a.fqdn === b.fqdn && a.clusterIP === b.clusterIP && a.ports.length === b.ports.length && a.ports.every((p, i) => samePort(p, b.ports[i]));
}

function sameAddresses(a: Service, b: Service): boolean {
  return a.workloads.length === b.workloads.length && a.workloads.every((w, i) => w.address === b.workloads[i].address);
}

function sameResources(a: Service, b: Service): boolean {
  return a === b || (sameShape(a, b) && sameAddresses(a, b));
}

function build(service: Service, before: ServiceEntry | undefined): ServiceEntry {
  const shape = before !== undefined && sameShape(before.service, service);
  const addresses = before !== undefined && sameAddresses(before.service, service);
  const ports = service.ports.map((port) => {
    const old = before?.port(port.port);
    const sameCluster = old !== undefined && old.port.protocol === port.protocol && before!.service.fqdn === service.fqdn;
    const sameLoad = sameCluster && old.port.targetPort === port.targetPort && addresses;
    return new PortEntry(
      service,
      port,
      sameCluster ? old.cluster : outboundCluster(service, port),
      sameLoad ? old.load : loadAssignment(service, port),
      sameCluster ? old.builtRoute : undefined,
    );
  });
  return new ServiceEntry(service, ports, shape ? before!.sharedFragments() : undefined);
}
