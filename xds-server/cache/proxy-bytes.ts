// The replay report's bytesScoped / bytesFull: the serialized size of every
// LDS/RDS/CDS/EDS resource an Envoy sidecar of a workload would be pushed
// with lazy scoping on and off, computed with the same cache the server runs.
import type { Inventory, ProxyBytes, ServiceId, WorkloadId } from '../../contracts/index.ts';
import type { HostPort } from '../resources/host-port.ts';
import { PUSH_ORDER, TypeUrl, type EncodedResource, type XdsNode } from '../types.ts';
import { LayeredMap } from './layered-map.ts';
import { MeshCache } from './mesh-cache.ts';
import type { CacheNode, TypeView } from './node-handle.ts';

export interface ProxyBytesOptions {
  /** Counted as deployed: a gateway cluster is part of every lazy proxy's config. Default 127.0.0.1:15008. */
  gateway?: HostPort;
  /** The access log service the proxies are told, when there is one: its cluster and log config count too. */
  accessLogService?: HostPort;
}

const PLACEHOLDER_GATEWAY: HostPort = { host: '127.0.0.1', port: 15008 };

function mapBytes(map: ReadonlyMap<string, EncodedResource>): number {
  let n = 0;
  for (const r of map.values()) n += r.any.value.length;
  return n;
}

/**
 * Sizes of what nodes share, computed once: the full mesh's clusters and
 * endpoints are the same tens of thousands of resources for every proxy, so
 * summing them per proxy made a 10k-service replay spend minutes here.
 * A LayeredMap's shared layer is summed once per map (a ScopeView's maps are
 * filled when it is built and never change); a whole type view once per digest
 * (equal digests are equal name → version sets).
 */
class SizeMemo {
  private readonly shared = new WeakMap<object, number>();
  private readonly byDigest = new Map<string, number>();

  total(handle: CacheNode): number {
    let n = 0;
    for (const type of PUSH_ORDER) n += this.typeBytes(type, handle.config[type]);
    return n;
  }

  private typeBytes(type: TypeUrl, view: TypeView): number {
    const map = view.map;
    if (map instanceof LayeredMap) {
      const base = map.sharedLayer as ReadonlyMap<string, EncodedResource>;
      let n = this.sharedBytes(base);
      for (const [name, r] of map.ownLayer as ReadonlyMap<string, EncodedResource>) n += r.any.value.length - (base.get(name)?.any.value.length ?? 0);
      return n;
    }
    // Small per-node maps (listeners, routes) are summed directly; only big shared ones are worth a key.
    if (map.size < 64) return mapBytes(map);
    const key = `${type}|${view.digest}`;
    let n = this.byDigest.get(key);
    if (n === undefined) this.byDigest.set(key, (n = mapBytes(map)));
    return n;
  }

  private sharedBytes(map: ReadonlyMap<string, EncodedResource>): number {
    let n = this.shared.get(map);
    if (n === undefined) this.shared.set(map, (n = mapBytes(map)));
    return n;
  }
}

/** Reuses one cache per mode, so measuring every workload of a mesh encodes each resource once. */
export class ProxyBytesMeter {
  private readonly scoped: MeshCache;
  private readonly full: MeshCache;
  /** Full-mesh handles stay attached: they keep the shared full view alive between calls. */
  private readonly fullBytes = new Map<WorkloadId, number>();
  private readonly sizes = new SizeMemo();

  constructor(
    readonly inventory: Inventory,
    opts: ProxyBytesOptions = {},
    /** A meter of an earlier inventory with the same options: the services it encoded that did not change are reused. */
    previous?: ProxyBytesMeter,
  ) {
    const gateway = opts.gateway ?? PLACEHOLDER_GATEWAY;
    const accessLogService = opts.accessLogService;
    this.scoped = new MeshCache({ inventory, gateway, accessLogService, lazy: true, carryOver: previous?.scoped });
    this.full = new MeshCache({ inventory, gateway, accessLogService, lazy: false, shareWith: this.scoped });
  }

  measure(workload: WorkloadId, scope: Iterable<ServiceId>): ProxyBytes {
    const w = this.inventory.workload(workload);
    if (!w) throw new Error(`measureProxyBytes: workload ${workload} is not in the inventory (expected POD.NAMESPACE of a workload in mesh.yaml)`);
    const node: XdsNode = {
      id: `sidecar~${w.address}~${w.id}~${w.namespace}.svc.${this.inventory.clusterDomain}`,
      metadata: { NAME: w.name, NAMESPACE: w.namespace },
      profile: 'envoy',
    };
    this.scoped.scope.setWorkloadScope(w.id, scope);
    let bytesFull = this.fullBytes.get(w.id);
    if (bytesFull === undefined) {
      bytesFull = this.sizes.total(this.full.attach(node));
      this.fullBytes.set(w.id, bytesFull);
    }
    const scoped = this.scoped.attach(node);
    try {
      return { workload: w.id, clusters: scoped.resources(TypeUrl.Cluster).size, bytesScoped: this.sizes.total(scoped), bytesFull };
    } finally {
      scoped.detach();
      this.scoped.scope.setWorkloadScope(w.id, undefined);
    }
  }
}

export function measureProxyBytes(inventory: Inventory, workload: WorkloadId, scope: Iterable<ServiceId>, opts?: ProxyBytesOptions): ProxyBytes {
  return new ProxyBytesMeter(inventory, opts).measure(workload, scope);
}
