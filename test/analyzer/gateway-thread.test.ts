// The in-process lazy gateway runs in a thread of its own
// (analyzer/gateway-thread/): its calls never wait for the analyzer's event
// loop (a Kafka backlog, a 1M-line post, a flush, that heap's GC), it follows
// the analyzer's inventory by delta, its records reach the core, and a thread
// that dies is started again on the same ports.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import YAML from 'yaml';
import { startAnalyzer, type RunningAnalyzer } from '../../analyzer/app.ts';
import { waitUntil } from '../harness/wait.ts';
import { requestVia, startHttpBackend, type HttpBackend } from '../xds/support/backends.ts';
import { tempMesh, type TempMesh } from './support/mesh.ts';

const PROBE_ADDR = '127.0.0.73';
const LATER_ADDR = '127.0.0.74';
const BLOCK_MS = 600;

type Call = [startedAt: number, ms: number, status: number];

const mesh = (probePort: number, later?: HttpBackend) =>
  YAML.stringify({
    apiVersion: 'meshscope/v1',
    kind: 'Mesh',
    services: [
      { name: 'client', ports: [{ port: 8080 }], workloads: [{ name: 'client-0', address: '10.244.0.1' }] },
      { name: 'probe', ports: [{ port: 8080, targetPort: probePort }], workloads: [{ name: 'probe-0', address: PROBE_ADDR }] },
      ...(later ? [{ name: 'later', ports: [{ port: 8080, targetPort: later.port }], workloads: [{ name: 'later-0', address: LATER_ADDR }] }] : []),
    ],
  });

/** The next IPC message of `child` that has `key`. */
function message<T>(child: ChildProcess, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (!(key in m)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m[key] as T);
    };
    const onExit = (code: number) => reject(new Error(`the prober exited (code ${code}) before sending ${key}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

describe('the in-process gateway in its own thread', () => {
  let tmp: TempMesh;
  let prober: ChildProcess;
  let run: RunningAnalyzer;
  let later: HttpBackend;
  let probePort: number;
  const logs: string[] = [];

  before(async () => {
    prober = fork(new URL('./support/call-prober.mjs', import.meta.url), [PROBE_ADDR], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    probePort = await message<number>(prober, 'backend');
    later = await startHttpBackend('later', LATER_ADDR);
    tmp = tempMesh('gateway-thread', mesh(probePort));
    run = await startAnalyzer({ mesh: tmp.meshFile, data: tmp.dataDir, gatewayPort: 0, log: (l) => logs.push(l) });
  });

  after(async () => {
    prober?.kill();
    await run?.close();
    await later?.close();
    tmp?.remove();
  });

  it("answers calls while the analyzer's event loop is held, and its records reach the core", async () => {
    prober.send({ start: { port: run.gateway!.port, host: 'probe:8080', source: 'client-0.default' } });
    await message(prober, 'first');
    // The analyzer's loop is this test's: hold it as a long ingest slice or a GC pause would.
    const from = performance.timeOrigin + performance.now();
    const until = performance.now() + BLOCK_MS;
    while (performance.now() < until);
    const to = performance.timeOrigin + performance.now();
    const done = message<Call[]>(prober, 'calls');
    prober.send({ stop: true });
    const calls = await done;

    const within = calls.filter(([at, ms]) => at >= from && at + ms <= to);
    const overlapping = calls.filter(([at, ms]) => at < to && at + ms > from);
    const slowest = Math.max(...overlapping.map(([, ms]) => ms));
    assert.ok(within.length >= 20, `calls answered while the loop was held ${BLOCK_MS} ms: ${within.length}`);
    assert.ok(slowest < BLOCK_MS / 3, `the slowest call overlapping the hold took ${slowest.toFixed(1)} ms`);
    assert.ok(calls.every(([, , status]) => status === 200), 'every call was forwarded');
    await waitUntil(() => run.analyzer.stats().accepted >= calls.length, `the ${calls.length} calls' records to be ingested`, 10_000);
  });

  it('follows a change of the inventory: a service added to mesh.yaml is routed without a restart', async () => {
    assert.equal((await requestVia(run.gateway!.port, 'later:8080')).status, 404, 'unknown before the change');
    writeFileSync(tmp.meshFile, mesh(probePort, later));
    await waitUntil(async () => (await requestVia(run.gateway!.port, 'later:8080')).status === 200, 'the gateway thread to route the new service', 15_000);
    assert.equal(later.received.at(-1)?.host, 'later:8080');
  });

  it('starts its thread again on the same ports when it dies', async () => {
    const port = run.gateway!.port;
    const thread = (run.gateway as unknown as { thread: Worker }).thread;
    await thread.terminate();
    await waitUntil(() => logs.some((l) => l.includes(`its thread exited (code 1); starting it again on ports ${port} and`)), 'the restart to be told', 10_000);
    await waitUntil(async () => (await requestVia(port, 'later:8080').catch(() => ({ status: 0 }))).status === 200, 'the gateway to answer again', 20_000);
    assert.equal(run.gateway!.port, port);
    assert.notEqual((run.gateway as unknown as { thread: Worker }).thread, thread);
  });
});
