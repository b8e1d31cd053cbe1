// The Kafka consumer in its own thread: kafkajs's network, its decoding of
// each fetch (~0.5 µs a record, in one synchronous turn, plus the garbage it
// leaves) and its heartbeats never hold the analyzer's event loop, which only
// ingests the records, a slice at a time (source.ts). At-least-once delivery:
// a batch's offsets are committed only after the analyzer says its effects are
// durable, so a crash replays (never loses) records; the core dedupes
// redelivered records by request id. Message keys are only the producers'
// partitioning (the gateway keys by caller, so one caller's records keep their
// order): the record's own fields say who called.
import { setPriority } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { Kafka, logLevel, type Consumer, type EachBatchPayload, type KafkaMessage, type LogEntry } from 'kafkajs';
import type { RawInput } from '../ingest-target.ts';
import type { ConsumerConfig, FromConsumer, ToConsumer } from './protocol.ts';
import { REF_HEADER } from './ref-header.ts';

// kafkajs decodes a whole fetch in one turn; here that only delays this thread's
// next fetch, but the records of one fetch are also one batch the analyzer ingests
// before it commits: 256 KiB a partition is ~3,000 small records.
const FETCH = { maxBytes: 512 << 10, maxBytesPerPartition: 256 << 10, minBytes: 1, maxWaitTimeInMs: 100 };
// A crashed analyzer's member blocks the group until its session expires: a
// short session lets a restarted one resume in seconds. A batch waiting for its
// flush keeps heartbeating (heartbeatWhile), so a slow store never expires it.
const SESSION = { sessionTimeout: 10_000, heartbeatInterval: 1_000 };
// A flush that failed is retried after these delays (the last one repeating).
const RETRY_MS = [250, 500, 1_000, 2_000, 5_000];

// Decoding competes for the CPU with the analyzer's event loop, which serves the latency-bound work
// (the gateway's calls, probes): this thread runs at a lower priority. On Linux a nice value is a
// thread's own; elsewhere it would lower the whole process, so it is left alone there.
const CONSUMER_NICE = 10;
if (process.platform === 'linux') {
  try {
    setPriority(CONSUMER_NICE);
  } catch {
    // Not permitted (a seccomp profile): the thread runs at the process's priority.
  }
}

const port = parentPort!;
const config = workerData as ConsumerConfig;
const send = (m: FromConsumer) => port.postMessage(m);
const log = (msg: string) => send({ type: 'log', msg });

/** The analyzer's side, reached by messages: each request resolves on its answer. */
class AnalyzerPort {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  answer(m: Extract<ToConsumer, { id: number }>): void {
    const w = this.waiting.get(m.id);
    this.waiting.delete(m.id);
    if (m.error === undefined) w?.resolve();
    else w?.reject(new Error(m.error));
  }

  ingest(records: RawInput[]): Promise<void> {
    return this.request((id) => ({ type: 'batch', id, records }));
  }

  flush(): Promise<void> {
    return this.request((id) => ({ type: 'flush', id }));
  }

  private request(make: (id: number) => FromConsumer): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      send(make(id));
    });
  }
}

/**
 * Durable first, commit second: a crash between the two only redelivers. The
 * flush of one batch and its commit run while the next batch is fetched and
 * ingested; the next one waits for them, so one is in flight at most. A flush
 * that fails is retried with back-off until it succeeds (the store's failure
 * policy counts and reports it): meanwhile the consumer holds the batch in hand
 * and fetches nothing more, instead of ingesting what it could not commit.
 */
class DurableCommits {
  private inFlight: Promise<void> = Promise.resolve();
  stopping = false;

  constructor(private readonly analyzer: AnalyzerPort) {}

  /** Waits for the previous flush and commit, then starts this batch's (awaited too while stopping). */
  async after(p: EachBatchPayload, messages: number): Promise<void> {
    await heartbeatWhile(this.inFlight, p);
    const offsets = p.uncommittedOffsets();
    this.inFlight = this.durable(messages)
      .then(async () => {
        await p.commitOffsetsIfNecessary(offsets);
        send({ type: 'committed', messages, batches: 1 });
      })
      .catch((err: Error) => log(`kafka: ${messages} records not committed (${err.message}); they are redelivered after a restart or rebalance`));
    if (this.stopping) await this.inFlight;
  }

  /** Resolves once the flush and commit in flight, if any, are done. */
  settled(): Promise<void> {
    return this.inFlight;
  }

  private async durable(messages: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.analyzer.flush();
      } catch (err) {
        if (this.stopping) throw err;
        const delay = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)];
        log(`kafka: not committing ${messages} records yet, the store failed to write them: ${(err as Error).message}; holding the consumer, retrying in ${delay} ms`);
        await sleep(delay);
      }
    }
  }
}

/** Heartbeats while `work` runs, so a batch waiting on a slow flush keeps the group's session alive. */
async function heartbeatWhile(work: Promise<void>, p: EachBatchPayload): Promise<void> {
  let done = false;
  const settled = work.finally(() => (done = true));
  while (!done) {
    const tick = new AbortController();
    await Promise.race([settled, sleep(SESSION.heartbeatInterval, undefined, { signal: tick.signal }).catch(() => {})]);
    tick.abort();
    if (!done) await p.heartbeat();
  }
}

async function consumeBatch(p: EachBatchPayload, analyzer: AnalyzerPort, commits: DurableCommits): Promise<void> {
  const { batch } = p;
  if (batch.messages.length === 0 || !p.isRunning() || p.isStale()) return;
  const prefix = `kafka:${batch.topic}/${batch.partition}@`;
  const input = (m: KafkaMessage): RawInput => {
    const origin = m.headers?.[REF_HEADER];
    const ref = origin === undefined ? prefix + m.offset : String(origin);
    return m.value ? { value: m.value.toString('utf8'), ref } : { value: '', ref, rejectReason: 'no-value' };
  };
  await analyzer.ingest(batch.messages.map(input));
  p.resolveOffset(batch.lastOffset());
  await commits.after(p, batch.messages.length);
  await p.heartbeat();
}

async function start(): Promise<Consumer | undefined> {
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    logLevel: logLevel.ERROR,
    logCreator: () => (e: LogEntry) => log(`kafka: ${e.log.message}${e.log.error ? ` (${e.log.error})` : ''}`),
    retry: { initialRetryTime: 200, retries: 8 },
  });
  const fetch = config.fetchMaxBytes ? { ...FETCH, maxBytes: config.fetchMaxBytes, maxBytesPerPartition: config.fetchMaxBytes } : FETCH;
  const consumer = kafka.consumer({ groupId: config.group, ...fetch, ...SESSION, retry: { restartOnFailure: async () => true } });
  consumer.on(consumer.events.GROUP_JOIN, () => send({ type: 'joined' }));
  consumer.on(consumer.events.CRASH, (e) => log(`kafka: consumer crashed (${e.payload.error.message}); restarting: ${e.payload.restart}`));
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: config.topic, fromBeginning: true });
  } catch (err) {
    await consumer.disconnect().catch(() => {});
    send({ type: 'failed', message: `kafka: cannot consume ${config.topic} from ${config.brokers.join(',')}: ${(err as Error).message}; check --kafka HOST:PORT, that the broker is up and that the topic exists (--topic)` });
    return undefined;
  }
  const analyzer = new AnalyzerPort();
  const commits = new DurableCommits(analyzer);
  let stopping: Promise<void> | undefined;
  port.on('message', (m: ToConsumer) => {
    if (m.type !== 'stop') return analyzer.answer(m);
    stopping ??= stopConsumer(consumer, commits).then(() => {
      send({ type: 'stopped' });
      port.close();
    });
  });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: (payload) => consumeBatch(payload, analyzer, commits),
  });
  send({ type: 'started' });
  return consumer;
}

async function stopConsumer(consumer: Consumer, commits: DurableCommits): Promise<void> {
  // A batch in hand finishes its own commit before the group is left; one already in flight is awaited here.
  commits.stopping = true;
  await commits.settled();
  await consumer.stop();
  await commits.settled();
  await consumer.disconnect();
}

if (!(await start())) port.close();
