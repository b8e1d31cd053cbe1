// `meshscope replay --via kafka`: produces the fixture's lines to a fresh
// topic and consumes them back through the analyzer's real Kafka source, so a
// fixture also exercises the consumer path (offsets, batching, commits).
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { FixtureError } from '../replay/errors.ts';
import { toInput, type FeedStrategy } from '../replay/feed.ts';
import { REF_HEADER, startKafkaSource, type KafkaSource } from './kafka/source.ts';

// Stays under the broker's default 1 MiB request limit with room for headers.
const PRODUCE_BYTES = 512 * 1024;
const DRAIN_TIMEOUT_MS = 120_000;

export const replayFeed: FeedStrategy = async (batches, { analyzer, file, options }) => {
  const brokers = (options.kafka ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (brokers.length === 0) throw new FixtureError('--via kafka needs --kafka HOST:PORT of the broker');
  const topic = `meshscope.replay.${randomUUID()}`;
  // Few retries: a replay against a wrong address should fail in seconds, naming it.
  const kafka = new Kafka({ clientId: 'meshscope-replay', brokers, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 200 } });
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (err) {
    throw new FixtureError(`--via kafka: cannot reach the broker at ${brokers.join(',')} (${(err as Error).message}); check --kafka HOST:PORT`);
  }
  try {
    // One partition keeps file order: the replay clock follows the records' times.
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  } catch (err) {
    await admin.disconnect();
    throw new FixtureError(`--via kafka: cannot create topic ${topic} on ${brokers.join(',')}: ${(err as Error).message}; check --kafka`);
  }
  const source = await startKafkaSource({ brokers, topic, group: `${topic}.group`, target: analyzer, clientId: 'meshscope-replay' });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  let produced = 0;
  try {
    await producer.connect();
    let pending: Message[] = [];
    let pendingBytes = 0;
    const send = async () => {
      if (pending.length === 0) return;
      await producer.send({ topic, messages: pending, acks: -1 });
      produced += pending.length;
      pending = [];
      pendingBytes = 0;
    };
    for await (const batch of batches) {
      for (const l of batch) {
        const ref = `${file}:${l.line}`;
        // An oversized line would exceed the broker's message limit; it is rejected in-process, as the core would.
        if (l.tooLong !== undefined) {
          analyzer.ingest([toInput(l, file)]);
          continue;
        }
        pending.push({ value: l.text, headers: { [REF_HEADER]: ref } });
        pendingBytes += l.text.length + ref.length + 32;
        if (pendingBytes >= PRODUCE_BYTES) await send();
      }
    }
    await send();
    await drained(source, produced, topic);
  } finally {
    await source.stop().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
};

/** Waits until the consumer has ingested, flushed and committed every produced message. */
async function drained(source: KafkaSource, produced: number, topic: string): Promise<void> {
  try {
    await source.consumed(produced, AbortSignal.timeout(DRAIN_TIMEOUT_MS));
  } catch (err) {
    if ((err as Error).name !== 'TimeoutError') throw err;
    throw new Error(
      `--via kafka: consumed ${source.stats().messages} of ${produced} records from ${topic} within ${DRAIN_TIMEOUT_MS / 1000} s; ` +
        'is the broker overloaded? Try again, or replay in-process (without --via kafka)',
    );
  }
}
