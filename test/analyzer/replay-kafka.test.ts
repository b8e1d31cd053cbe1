// `meshscope replay --via kafka`: the fixture's lines go to a fresh topic on a
// real broker and come back through the analyzer's Kafka source; the report
// must equal the in-process replay's, rejected lines still named by file:line.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { feedFor } from '../../analyzer/replay/feed.ts';
import { replay } from '../../analyzer/replay/replay.ts';
import { startKafka, type KafkaBroker } from '../harness/kafka.ts';
import { waitUntil } from '../harness/wait.ts';

const FIXTURES = new URL('../../fixtures/', import.meta.url).pathname;

describe('replay --via kafka (real broker)', () => {
  let broker: KafkaBroker;

  before(async () => {
    broker = await startKafka({ name: 'replay-kafka' });
  });
  after(async () => {
    await broker?.stop();
  });

  for (const fixture of ['bookinfo', 'online-boutique']) {
    it(`${fixture}: the same report as in-process`, async () => {
      const dir = join(FIXTURES, fixture);
      const local = await replay(dir);
      const viaKafka = await replay(dir, { feed: await feedFor('kafka'), feedOptions: { kafka: broker.brokers.join(',') } });
      assert.ok(viaKafka.report.records > 1000);
      assert.deepEqual(viaKafka.report, local.report);
      assert.equal(viaKafka.report.check?.ok, true);
      assert.deepEqual(
        viaKafka.rejected.map((r) => [r.reason, r.count, r.samples.map((s) => s.ref)]),
        local.rejected.map((r) => [r.reason, r.count, r.samples.map((s) => s.ref)]),
      );
      // KRaft deletes topics asynchronously: wait for the metadata to say so.
      const admin = broker.client().admin();
      await admin.connect();
      try {
        await waitUntil(async () => (await admin.listTopics()).every((t) => !t.startsWith('meshscope.replay.')),
          'the replay topic is removed afterwards', 15_000);
      } finally {
        await admin.disconnect();
      }
    });
  }

  it('names the broker when it cannot be reached', async () => {
    await assert.rejects(
      replay(join(FIXTURES, 'bookinfo'), { feed: await feedFor('kafka'), feedOptions: { kafka: '127.0.0.1:1' } }),
      /127\.0\.0\.1:1/,
    );
  });
});
