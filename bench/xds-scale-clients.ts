// One shard of bench/xds-scale.ts's ADS clients, in its own process: 10k
// streams decoding and ACKing in one client process would time the client, not
// the server. Driven over the fork IPC channel; replies carry wall-clock times
// (performance.timeOrigin + now), comparable across processes.
import { TypeUrl } from '../xds-server/types.ts';
import { BenchAdsClient, now } from './xds-ads-client.ts';

export type ClientCommand =
  | { cmd: 'connect'; target: string; proxies: Array<{ nodeId: string; service: number }> }
  /** Arms a wait on this shard's clients of `service` for exactly `clusters` and a new route; answered 'armed', then 'done'. */
  | { cmd: 'arm-scope'; id: number; service: number; clusters: string[] }
  /** Arms a wait on the shard's clients `local` (indices into its connect list) for a new `cluster` assignment. */
  | { cmd: 'arm-endpoint'; id: number; cluster: string; local: number[] }
  | { cmd: 'exit' };

const send = (msg: unknown) => process.send!(msg);
const WAVE = 200;
let clients: BenchAdsClient[] = [];
let services: number[] = [];

process.on('message', async (m: ClientCommand) => {
  switch (m.cmd) {
    case 'connect': {
      services = m.proxies.map((p) => p.service);
      const progress = setInterval(() => {
        const failed = clients.filter((c) => c.failed);
        send({ type: 'progress', settled: clients.filter((c) => c.settled).length, of: m.proxies.length, failed: failed.length, why: failed[0]?.failed });
      }, 15_000);
      // In waves: thousands of connects at once overflow the server's accept backlog (ECONNRESET), as a
      // fleet of sidecars starting together would; real Envoys retry, these clients do not.
      const acked: number[] = [];
      for (let i = 0; i < m.proxies.length; i += WAVE) {
        const wave = m.proxies.slice(i, i + WAVE).map((p) => new BenchAdsClient(p.nodeId, m.target));
        clients.push(...wave);
        acked.push(...(await Promise.all(wave.map((c) => c.until((x) => x.settled)))));
      }
      clearInterval(progress);
      send({ type: 'connected', acked });
      break;
    }
    case 'arm-scope': {
      const expected = new Set(m.clusters);
      const waits = clients
        .filter((_, j) => services[j] === m.service)
        .map((c) => {
          const routeBefore = c.types.get(TypeUrl.Route)!.resources.get('outbound');
          return c.until((x) => {
            const cds = x.types.get(TypeUrl.Cluster)!.resources;
            return x.settled && cds.size === expected.size && [...expected].every((e) => cds.has(e)) && x.types.get(TypeUrl.Route)!.resources.get('outbound') !== routeBefore;
          });
        });
      send({ type: 'armed', id: m.id });
      send({ type: 'done', id: m.id, at: waits.length ? Math.max(...(await Promise.all(waits))) : 0 });
      break;
    }
    case 'arm-endpoint': {
      const waits = m.local.map((j) => {
        const before = clients[j].types.get(TypeUrl.Endpoint)!.resources.get(m.cluster);
        return clients[j].until((x) => x.settled && x.types.get(TypeUrl.Endpoint)!.resources.get(m.cluster) !== before);
      });
      send({ type: 'armed', id: m.id });
      send({ type: 'done', id: m.id, at: waits.length ? Math.max(...(await Promise.all(waits))) : 0 });
      break;
    }
    case 'exit':
      for (const c of clients) c.close();
      process.exit(0);
  }
});
send({ type: 'ready', at: now() });
