// The analyzer says what it does, as structured (pino) lines: a proxy
// connecting and going, an edge learnt, a scope push ACKed, a NACK with the
// proxy's own message. Driven by a real grpc-js ADS client against the real
// analyzer process pieces (startAnalyzer).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { parseAnalyzerArgs } from '../../analyzer/cli.ts';
import { startAnalyzer, type RunningAnalyzer } from '../../analyzer/app.ts';
import { waitFor } from '../xds-protocol/helpers.ts';
import { CDS, RDS, connectProxy, expectType } from '../xds/support/ads-proxy.ts';
import { PAGE, native, tempMesh, type TempMesh } from './support/mesh.ts';

describe('activity log', () => {
  let mesh: TempMesh;
  let run: RunningAnalyzer;
  const lines: Array<Record<string, any>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  const event = (name: string, extra: Record<string, unknown> = {}) =>
    lines.find((l) => l.event === name && Object.entries(extra).every(([k, v]) => JSON.stringify(l[k]) === JSON.stringify(v)));

  before(async () => {
    mesh = tempMesh('activity');
    run = await startAnalyzer({ mesh: mesh.meshFile, data: mesh.dataDir, logger: pino({ level: 'info' }, sink) });
  });
  after(async () => {
    await run?.close();
    mesh?.remove();
  });

  it('logs the proxy connecting, the edge learnt, the scope push ACKed, a NACK with its message, and the proxy going', async () => {
    assert.equal(run.logger.level, 'info', 'the logger is exposed for the other parts of the process');
    const c = await connectProxy(run.xdsPort, PAGE);
    try {
      await waitFor(() => event('proxy-connected', { workload: PAGE, ads: 'sotw' }), 'proxy-connected');
      assert.match(event('proxy-connected')!.msg, /^proxy connected: productpage-v1-abc\.default \(sotw ADS\)$/);

      run.analyzer.ingest([{ value: native(PAGE, 'reviews:9080'), ref: 'test' }]);
      const learnt = (await waitFor(() => event('edge-learnt', { kind: 'service', source: 'productpage.default', dest: 'reviews.default' }), 'edge-learnt'))!;
      assert.equal(learnt.level, 30);
      c.ack(await expectType(c, CDS));
      c.ack(await expectType(c, RDS), ['outbound', 'inbound']);
      const acked = (await waitFor(() => event('push-acked', { cause: 'scope', workload: PAGE }), 'push-acked'))!;
      assert.ok(acked.ms >= 0 && acked.types.includes('Cluster'), JSON.stringify(acked));

      run.analyzer.ingest([{ value: native(PAGE, 'details:9080'), ref: 'test' }]);
      c.nack(await expectType(c, CDS), 'cluster outbound|9080||details: no healthy upstream in test');
      const nack = (await waitFor(() => event('nack', { workload: PAGE }), 'nack'))!;
      assert.equal(nack.level, 40, 'a NACK is a warning');
      assert.equal(nack.message, 'cluster outbound|9080||details: no healthy upstream in test');
      assert.equal(nack.type, 'Cluster');
    } finally {
      c.close();
    }
    await waitFor(() => event('proxy-disconnected', { workload: PAGE }), 'proxy-disconnected');
  });

  it('takes --log-level from the command line and names the levels on a bad one', () => {
    assert.equal(parseAnalyzerArgs(['--mesh', 'm', '--data', 'd'], {}).logLevel, 'info');
    assert.equal(parseAnalyzerArgs(['--mesh', 'm', '--data', 'd', '--log-level', 'debug'], {}).logLevel, 'debug');
    assert.throws(() => parseAnalyzerArgs(['--mesh', 'm', '--data', 'd', '--log-level', 'loud'], {}), /--log-level "loud": expected one of fatal, error, warn, info, debug, trace, silent/);
  });
});
