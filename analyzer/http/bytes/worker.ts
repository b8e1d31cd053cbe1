// The config-bytes worker: holds a ProxyBytesMeter for the latest inventory
// it was sent and answers measurements in order. Encoding a 10k-service
// mesh's clusters, endpoints and routes for the first "full" figure takes
// seconds of CPU; here it never stalls the analyzer's event loop.
import { parentPort } from 'node:worker_threads';
import { Inventory } from '../../../contracts/index.ts';
import { ProxyBytesMeter } from '../../../xds-server/index.ts';
import type { BytesReply, BytesRequest } from './protocol.ts';

let meter: ProxyBytesMeter | undefined;

parentPort!.on('message', (req: BytesRequest) => {
  if (req.op === 'inventory' || req.op === 'delta') {
    // Services the new version did not change keep their encodings: a 10k-service mesh whose
    // inventory moves every few seconds (Kubernetes) is not encoded again each time.
    const inventory = req.op === 'inventory' ? new Inventory(req.spec) : meter!.inventory.apply(req.delta);
    meter = new ProxyBytesMeter(inventory, req.deployed, meter);
    return;
  }
  let reply: BytesReply;
  try {
    if (!meter) throw new Error('no inventory was sent before a measurement');
    reply = { id: req.id, bytes: meter.measure(req.workload, req.scope) };
  } catch (err) {
    reply = { id: req.id, error: (err as Error).message };
  }
  parentPort!.postMessage(reply);
});
