// The in-process lazy gateway's own thread: its event loop serves only calls,
// so a Kafka backlog ingested on the analyzer's loop, a flush or that heap's
// garbage collection never delays one (test/analyzer/event-loop.test.ts).
// The gateway is the same as the standalone one; only its inventory (a copy
// that follows the analyzer's) and its sink (records posted back) differ.
import { parentPort, workerData } from 'node:worker_threads';
import { FixedInventorySource, Inventory } from '../../contracts/index.ts';
import { startGateway, type Gateway } from '../../lazy-gateway/index.ts';
import type { FromGateway, GatewayThreadConfig, ToGateway } from './protocol.ts';

const port = parentPort!;
const config = workerData as GatewayThreadConfig;
const send = (m: FromGateway) => port.postMessage(m);

// The analyzer's inventory, as it hands over each change.
const inventory = new FixedInventorySource(new Inventory(config.spec));
let gateway: Gateway | undefined;
let closeAsked = false;
let closing: Promise<void> | undefined;
/** Once asked and started (a close asked during start-up waits for it). */
const close = () =>
  (closing ??= (gateway?.close() ?? Promise.resolve()).then(() => {
    send({ type: 'closed' });
    port.close();
  }));

port.on('message', (m: ToGateway) => {
  if (m.type === 'delta') inventory.set(inventory.current.apply(m.delta));
  else if (m.type === 'spec') inventory.set(new Inventory(m.spec));
  else {
    closeAsked = true;
    if (gateway) void close();
  }
});

try {
  gateway = await startGateway({
    inventory,
    port: config.port,
    adminPort: config.adminPort,
    host: config.host,
    trustedProxies: config.trustedProxies,
    // Handed over at once; the analyzer ingests them on its own loop.
    sink: { send: async (records) => send({ type: 'records', records }) },
    log: (msg) => send({ type: 'log', msg }),
  });
  send({ type: 'listening', port: gateway.port, adminPort: gateway.adminPort });
  if (closeAsked) void close();
} catch (err) {
  send({ type: 'failed', message: (err as Error).message });
  port.close();
}
