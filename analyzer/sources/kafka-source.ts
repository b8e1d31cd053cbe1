// Consumes access-log records from Kafka with at-least-once delivery: a
// batch's offsets are committed only after the core has made its effects
// durable, so a crash replays (never loses) records; the core dedupes
// redelivered records by request id. Message keys are only the producers'
// partitioning (the gateway keys by caller, so one caller's records keep their
// order): the record's own fields say who called.
import { Kafka, logLevel, type Consumer, type EachBatchPayload, type LogEntry } from 'kafkajs';
import { DEFAULT_ACCESS_LOG_TOPIC } from '../../contracts/index.ts';
import type { IngestTarget, RawInput } from './ingest-target.ts';
import { ingestSlices } from './slices.ts';

export const DEFAULT_GROUP = 'meshscope-analyzer';
/** Optional message header naming the record's origin (replay sets `traffic.jsonl:LINE`). */
export const REF_HEADER = 'meshscope-ref';

export interface KafkaSourceOptions {
  brokers: string[];
  target: IngestTarget;
  topic?: string;
  group?: string;
  clientId?: string;
  log?: (msg: string) => void;
}

/** Counted once a batch is ingested, flushed and committed. */
export interface KafkaSourceStats {
  messages: number;
  batches: number;
}

export interface KafkaSource {
  readonly topic: string;
  readonly group: string;
  /** Resolves once the consumer has joined its group and holds its partitions. */
  readonly joined: Promise<void>;
  stats(): KafkaSourceStats;
  /** Resolves once `messages` messages in all have been ingested, flushed and committed; rejects with `signal`'s reason. */
  consumed(messages: number, signal?: AbortSignal): Promise<void>;
  /** Finishes the batch in hand (ingest, flush, commit), leaves the group and disconnects. */
  stop(): Promise<void>;
}

// kafkajs decodes a whole fetch response in one synchronous turn (~2 s for 64 MiB of
// small records, a stalled /healthz and gateway): fetches stay at 2 MiB, tens of
// milliseconds of decoding; the batch itself is then ingested in slices (slices.ts).
const FETCH = { maxBytes: 2 << 20, maxBytesPerPartition: 1 << 20, minBytes: 1, maxWaitTimeInMs: 100 };
// A crashed analyzer's member blocks the group until its session expires: a
// short session lets a restarted one resume in seconds. One fetch (≤ 2 MiB,
// tens of milliseconds of work) always fits well inside it.
const SESSION = { sessionTimeout: 10_000, heartbeatInterval: 1_000 };

export async function startKafkaSource(opts: KafkaSourceOptions): Promise<KafkaSource> {
  const topic = opts.topic ?? DEFAULT_ACCESS_LOG_TOPIC;
  const group = opts.group ?? DEFAULT_GROUP;
  const log = opts.log ?? (() => {});
  const kafka = new Kafka({
    clientId: opts.clientId ?? 'meshscope-analyzer',
    brokers: opts.brokers,
    logLevel: logLevel.ERROR,
    logCreator: () => (e: LogEntry) => log(`kafka: ${e.log.message}${e.log.error ? ` (${e.log.error})` : ''}`),
    retry: { initialRetryTime: 200, retries: 8 },
  });
  const consumer = kafka.consumer({ groupId: group, ...FETCH, ...SESSION, retry: { restartOnFailure: async () => true } });
  const stats: KafkaSourceStats = { messages: 0, batches: 0 };
  const waiters = new Set<{ messages: number; resolve: () => void }>();
  const onBatch = () => {
    for (const w of waiters) if (stats.messages >= w.messages) w.resolve();
  };
  const consumed = (messages: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (stats.messages >= messages) return resolve();
      if (signal?.aborted) return reject(signal.reason);
      const w = {
        messages,
        resolve: () => {
          waiters.delete(w);
          signal?.removeEventListener('abort', abort);
          resolve();
        },
      };
      const abort = () => {
        waiters.delete(w);
        reject(signal!.reason);
      };
      waiters.add(w);
      signal?.addEventListener('abort', abort, { once: true });
    });
  let markJoined!: () => void;
  const joined = new Promise<void>((resolve) => (markJoined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => markJoined());
  consumer.on(consumer.events.CRASH, (e) => log(`kafka: consumer crashed (${e.payload.error.message}); restarting: ${e.payload.restart}`));

  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
  } catch (err) {
    await consumer.disconnect().catch(() => {});
    throw new Error(`kafka: cannot consume ${topic} from ${opts.brokers.join(',')}: ${(err as Error).message}; check --kafka HOST:PORT, that the broker is up and that the topic exists (--topic)`);
  }
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: async (payload) => {
      if (await consumeBatch(payload, opts.target, stats)) onBatch();
    },
  });
  log(`kafka: consuming ${topic} as group ${group} from ${opts.brokers.join(',')}`);
  return { topic, group, joined, stats: () => ({ ...stats }), consumed, stop: () => stopConsumer(consumer) };
}

/** Whether the batch was consumed (ingested, flushed, committed). */
async function consumeBatch(p: EachBatchPayload, target: IngestTarget, stats: KafkaSourceStats): Promise<boolean> {
  const { batch } = p;
  if (batch.messages.length === 0 || !p.isRunning() || p.isStale()) return false;
  const prefix = `kafka:${batch.topic}/${batch.partition}@`;
  const inputs: RawInput[] = new Array(batch.messages.length);
  for (let i = 0; i < batch.messages.length; i++) {
    const m = batch.messages[i];
    const origin = m.headers?.[REF_HEADER];
    const ref = origin === undefined ? prefix + m.offset : String(origin);
    inputs[i] = m.value ? { value: m.value.toString('utf8'), ref } : { value: '', ref, rejectReason: 'no-value' };
  }
  // A batch can be 64 MiB: in slices, so the rest of the process keeps being served meanwhile.
  await ingestSlices(target, inputs);
  // Durable first, commit second: a crash between the two only redelivers this batch.
  await target.flush();
  p.resolveOffset(batch.lastOffset());
  await p.commitOffsetsIfNecessary(p.uncommittedOffsets());
  stats.messages += inputs.length;
  stats.batches++;
  await p.heartbeat();
  return true;
}

async function stopConsumer(consumer: Consumer): Promise<void> {
  await consumer.stop();
  await consumer.disconnect();
}
