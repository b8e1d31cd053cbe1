// Consumes access-log records from Kafka with at-least-once delivery: a
// batch's offsets are committed only after the core has made its effects
// durable, so a crash replays (never loses) records; the core dedupes
// redelivered records by request id. The flush (a write in the store's worker
// thread) and its commit run while the next batch is fetched and ingested;
// one at a time, so a slow store holds the consumer back instead of piling up. Message keys are only the producers'
// partitioning (the gateway keys by caller, so one caller's records keep their
// order): the record's own fields say who called.
import { Kafka, logLevel, type Consumer, type EachBatchPayload, type KafkaMessage, type LogEntry } from 'kafkajs';
import { DEFAULT_ACCESS_LOG_TOPIC } from '../../contracts/index.ts';
import type { IngestTarget, RawInput } from './ingest-target.ts';
import { SLICE, pace } from './slices.ts';

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
  /** Largest fetch (default FETCH.maxBytes); kafkajs decodes a whole fetch in one turn. For benches. */
  fetchMaxBytes?: number;
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
  /** Finishes the batch in hand (ingest, flush, commit) and the commit in flight, leaves the group and disconnects. */
  stop(): Promise<void>;
}

// kafkajs decodes a whole fetch response in one synchronous turn: ~0.45 µs a small
// record (bench/analyzer-drain.ts), and the GC of what it allocates on top. 2 MiB
// fetches held the loop 10-40 ms at a time and a drain pushed the gateway's p99 to
// 3-7× idle; 256 KiB is ~3,000 records, a couple of milliseconds. (The broker still
// returns a producer's record batch whole when it is larger.) The batch is then
// ingested in slices (slices.ts).
const FETCH = { maxBytes: 512 << 10, maxBytesPerPartition: 256 << 10, minBytes: 1, maxWaitTimeInMs: 100 };
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
  const fetch = opts.fetchMaxBytes ? { ...FETCH, maxBytes: opts.fetchMaxBytes, maxBytesPerPartition: opts.fetchMaxBytes } : FETCH;
  const consumer = kafka.consumer({ groupId: group, ...fetch, ...SESSION, retry: { restartOnFailure: async () => true } });
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
  const commits = new DurableCommits(opts.target, stats, onBatch, log);
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: (payload) => consumeBatch(payload, opts.target, commits),
  });
  log(`kafka: consuming ${topic} as group ${group} from ${opts.brokers.join(',')}`);
  return { topic, group, joined, stats: () => ({ ...stats }), consumed, stop: () => stopConsumer(consumer, commits) };
}

async function consumeBatch(p: EachBatchPayload, target: IngestTarget, commits: DurableCommits): Promise<void> {
  const { batch } = p;
  if (batch.messages.length === 0 || !p.isRunning() || p.isStale()) return;
  const prefix = `kafka:${batch.topic}/${batch.partition}@`;
  const input = (m: KafkaMessage): RawInput => {
    const origin = m.headers?.[REF_HEADER];
    const ref = origin === undefined ? prefix + m.offset : String(origin);
    return m.value ? { value: m.value.toString('utf8'), ref } : { value: '', ref, rejectReason: 'no-value' };
  };
  // kafkajs has just decoded the fetch in one turn: that counts towards the next rest too.
  await pace();
  // Converted and ingested a slice at a time, so the rest of the process keeps being served meanwhile.
  for (let i = 0; i < batch.messages.length; i += SLICE) {
    target.ingest(batch.messages.slice(i, i + SLICE).map(input));
    await pace();
  }
  p.resolveOffset(batch.lastOffset());
  await commits.after(p, batch.messages.length);
  await p.heartbeat();
}

/**
 * Durable first, commit second: a crash between the two only redelivers. The
 * flush of one batch and its commit run while the next batch is fetched and
 * ingested; the next one waits for them, so one is in flight at most. A flush
 * that fails commits nothing: the next success (which implies every earlier
 * write is durable, see Analyzer.flush) commits past it.
 */
class DurableCommits {
  private inFlight: Promise<void> = Promise.resolve();
  /** Messages and batches ingested and not yet committed. */
  private pending = { messages: 0, batches: 0 };
  stopping = false;

  constructor(
    private readonly target: IngestTarget,
    private readonly stats: KafkaSourceStats,
    private readonly onCommit: () => void,
    private readonly log: (msg: string) => void,
  ) {}

  /** Waits for the previous flush and commit, then starts this batch's (awaited too while stopping). */
  async after(p: EachBatchPayload, messages: number): Promise<void> {
    await this.inFlight;
    this.pending.messages += messages;
    this.pending.batches++;
    const covered = { ...this.pending };
    const offsets = p.uncommittedOffsets();
    this.inFlight = this.target
      .flush()
      .then(
        async () => {
          await p.commitOffsetsIfNecessary(offsets);
          this.pending.messages -= covered.messages;
          this.pending.batches -= covered.batches;
          this.stats.messages += covered.messages;
          this.stats.batches += covered.batches;
          this.onCommit();
        },
        // Counted by the store's failure policy (retried, /readyz 503); what is not committed is redelivered after a crash.
        (err: Error) => this.log(`kafka: not committing ${covered.messages} records yet, the store failed to write them: ${err.message}`),
      )
      .catch((err: Error) => this.log(`kafka: commit failed (${err.message}); the records are redelivered after a restart or rebalance`));
    if (this.stopping) await this.inFlight;
  }

  /** Resolves once the flush and commit in flight, if any, are done. */
  settled(): Promise<void> {
    return this.inFlight;
  }
}

async function stopConsumer(consumer: Consumer, commits: DurableCommits): Promise<void> {
  // A batch in hand finishes its own commit before the group is left; one already in flight is awaited here.
  commits.stopping = true;
  await commits.settled();
  await consumer.stop();
  await commits.settled();
  await consumer.disconnect();
}
