// The xDS server side of bench/xds-scale.ts, in its own process so its RSS is
// the server's alone. Driven over the fork IPC channel.
import { createXdsServer, type XdsServer } from '../xds-server/index.ts';
import { now } from './xds-ads-client.ts';
import { SyntheticMesh } from './xds-synthetic-mesh.ts';

type Command =
  | { cmd: 'scopes'; scopes: Record<string, string[]> }
  | { cmd: 'setScope'; id: number; service: string; deps: string[] }
  | { cmd: 'endpoint'; id: number; service: number; generation: number }
  | { cmd: 'rss' }
  | { cmd: 'cpu' }
  | { cmd: 'startFull' }
  | { cmd: 'exit' };

const n = Number(process.argv[2]);
const gatewayAddress = '127.0.0.1:15008';
const send = (msg: unknown) => process.send!(msg);

const t0 = performance.now();
const mesh = new SyntheticMesh(n);
const inventory = mesh.inventory();
const tInventory = performance.now();
const lazy = await createXdsServer({ inventory, gatewayAddress, lazy: true, log: (l) => process.stderr.write(`${l}\n`) });
const tBuilt = performance.now();
let full: XdsServer | undefined;
send({ type: 'ready', port: lazy.port, inventoryMs: tInventory - t0, cacheMs: tBuilt - tInventory });

process.on('message', async (m: Command) => {
  switch (m.cmd) {
    case 'scopes':
      for (const [service, deps] of Object.entries(m.scopes)) lazy.scope.setServiceScope(service, deps);
      send({ type: 'ok' });
      break;
    case 'setScope': {
      const at = now();
      lazy.scope.setServiceScope(m.service, m.deps);
      send({ type: 'applied', id: m.id, t0: at, applyMs: now() - at });
      break;
    }
    case 'endpoint': {
      const next = mesh.moveEndpoint(m.service, m.generation);
      const at = now();
      lazy.setInventory(next);
      full?.setInventory(next);
      send({ type: 'applied', id: m.id, t0: at, applyMs: now() - at });
      break;
    }
    case 'rss':
      global.gc?.();
      send({ type: 'rss', ...process.memoryUsage() });
      break;
    case 'cpu':
      send({ type: 'cpu', ...process.cpuUsage() });
      break;
    case 'startFull':
      full = await createXdsServer({ inventory: mesh.inventory(), gatewayAddress, lazy: false });
      send({ type: 'ready-full', port: full.port });
      break;
    case 'exit':
      await full?.close();
      await lazy.close();
      process.exit(0);
  }
});
