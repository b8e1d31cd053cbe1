// Config size per workload with scoping on and off (the service page's
// "config bytes"): the real serialized size of every LDS/RDS/CDS/EDS resource
// the workload's Envoy is pushed, measured by xds-server's ProxyBytesMeter in
// a worker thread (worker.ts). The worker is started and handed the inventory
// when the app starts, so the first figure's encoding of the whole mesh (seconds
// at 10k services) runs beside the event loop, not in it; a new inventory
// version is sent before the next measurement that needs it, as a delta of the
// last one sent when it was derived from it (a whole 10k-service mesh costs
// ~50 ms of structured cloning on this thread).
import type { Worker } from 'node:worker_threads';
import type { Inventory, ProxyBytes, ServiceId, WorkloadId } from '../../../contracts/index.ts';
import type { ProxyBytesOptions } from '../../../xds-server/index.ts';
import { spawnTsWorker } from '../../threads/spawn.ts';
import type { BytesReply, BytesRequest } from './protocol.ts';

export class LiveBytesMeter {
  private worker?: Worker;
  /** The inventory the worker holds. */
  private sent?: Inventory;
  private readonly pending = new Map<number, { resolve: (b: ProxyBytes) => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly inventory: () => Inventory,
    /** What the xDS server tells proxies (gateway, access log service), so sizes are what they are pushed. */
    private readonly deployed: ProxyBytesOptions = {},
  ) {}

  /**
   * Starts the worker, hands it the inventory and measures one workload, so the first real measurement finds
   * the mesh encoded; resolves once it has (a failure is the first real measurement's to report).
   */
  async warm(): Promise<void> {
    const w = this.inventory().services.find((s) => s.workloads.length > 0)?.workloads[0];
    if (w) await this.measure(w.id, []).catch(() => {});
    else this.sync();
  }

  measure(workload: WorkloadId, scope: Iterable<ServiceId>): Promise<ProxyBytes> {
    if (this.closed) return Promise.reject(new Error('config bytes: the meter is closed'));
    const w = this.sync();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ op: 'measure', id, workload, scope: [...scope] } satisfies BytesRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    this.fail(new Error('config bytes: the meter closed before answering'));
    await w?.terminate();
  }

  /** The worker, told the current inventory when it has not seen it yet. */
  private sync(): Worker {
    const w = (this.worker ??= this.spawn());
    const inv = this.inventory();
    if (inv.version === this.sent?.version) return w;
    const delta = this.sent && inv.deltaSince(this.sent);
    if (delta) w.postMessage({ op: 'delta', version: inv.version, delta, deployed: this.deployed } satisfies BytesRequest);
    else w.postMessage({ op: 'inventory', version: inv.version, spec: inv.spec(), deployed: this.deployed } satisfies BytesRequest);
    this.sent = inv;
    return w;
  }

  private spawn(): Worker {
    const w = spawnTsWorker(new URL('./worker.ts', import.meta.url));
    // Idle, it does not hold the process open; app close terminates it.
    w.unref();
    w.on('message', (r: BytesReply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (r.error !== undefined) p.reject(new Error(`config bytes: ${r.error}`));
      else p.resolve(r.bytes!);
    });
    const lost = (err: Error) => {
      if (this.worker === w) {
        this.worker = undefined;
        this.sent = undefined;
      }
      this.fail(err);
    };
    w.on('error', (err) => lost(new Error(`config bytes: the worker failed: ${err.message}`)));
    w.on('exit', (code) => lost(new Error(`config bytes: the worker exited (code ${code})`)));
    return w;
  }

  private fail(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
