// Config size per workload with scoping on and off, for the service page. One
// meter per inventory version: it caches the full-mesh size of each workload.
import type { Inventory, ProxyBytes, ServiceId, WorkloadId } from '../../contracts/index.ts';
import { ProxyBytesMeter, type ProxyBytesOptions } from '../../xds-server/index.ts';

export class LiveBytesMeter {
  private meter?: ProxyBytesMeter;

  constructor(
    private readonly inventory: () => Inventory,
    /** What the xDS server tells proxies (gateway, access log service), so sizes are what they are pushed. */
    private readonly deployed: ProxyBytesOptions = {},
  ) {}

  measure(workload: WorkloadId, scope: Iterable<ServiceId>): ProxyBytes {
    const inv = this.inventory();
    if (this.meter?.inventory !== inv) this.meter = new ProxyBytesMeter(inv, this.deployed);
    return this.meter.measure(workload, scope);
  }
}
