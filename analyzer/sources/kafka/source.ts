// The analyzer's side of the Kafka consumer. kafkajs runs in its own thread
// (consumer-thread.ts); here each fetched batch is ingested a slice at a time
// with the loop's rests between (slices.ts), flushed when the thread asks, and
// counted once the thread has committed it. A thread that dies is started
// again after a back-off: what it had not committed is redelivered and deduped.
import type { Worker } from 'node:worker_threads';
import { DEFAULT_ACCESS_LOG_TOPIC } from '../../../contracts/index.ts';
import { restartDelay } from '../../threads/restart.ts';
import { spawnTsWorker } from '../../threads/spawn.ts';
import type { IngestTarget, RawInput } from '../ingest-target.ts';
import { ingestSlices } from '../slices.ts';
import type { ConsumerConfig, FromConsumer, ToConsumer } from './protocol.ts';

export { REF_HEADER } from './ref-header.ts';
export const DEFAULT_GROUP = 'meshscope-analyzer';

export interface KafkaSourceOptions {
  brokers: string[];
  target: IngestTarget;
  topic?: string;
  group?: string;
  clientId?: string;
  log?: (msg: string) => void;
  /** Largest fetch (default 512 KiB, 256 KiB a partition); one fetch is one batch to ingest and commit. For benches. */
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

export async function startKafkaSource(opts: KafkaSourceOptions): Promise<KafkaSource> {
  const config: ConsumerConfig = {
    brokers: opts.brokers,
    topic: opts.topic ?? DEFAULT_ACCESS_LOG_TOPIC,
    group: opts.group ?? DEFAULT_GROUP,
    clientId: opts.clientId ?? 'meshscope-analyzer',
    fetchMaxBytes: opts.fetchMaxBytes,
  };
  const log = opts.log ?? (() => {});
  const source = new ThreadedSource(config, opts.target, log);
  await source.start();
  log(`kafka: consuming ${config.topic} as group ${config.group} from ${config.brokers.join(',')}`);
  return source;
}

class ThreadedSource implements KafkaSource {
  readonly joined: Promise<void>;
  private markJoined!: () => void;
  private readonly counts: KafkaSourceStats = { messages: 0, batches: 0 };
  private readonly waiters = new Set<{ messages: number; resolve: () => void }>();
  private thread?: Worker;
  private stopping?: Promise<void>;
  /** Batches are ingested in arrival order, one after the other. */
  private ingesting: Promise<void> = Promise.resolve();
  private restarts = 0;

  constructor(
    private readonly config: ConsumerConfig,
    private readonly target: IngestTarget,
    private readonly log: (msg: string) => void,
  ) {
    this.joined = new Promise((resolve) => (this.markJoined = resolve));
  }

  get topic(): string {
    return this.config.topic;
  }

  get group(): string {
    return this.config.group;
  }

  stats(): KafkaSourceStats {
    return { ...this.counts };
  }

  consumed(messages: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.counts.messages >= messages) return resolve();
      if (signal?.aborted) return reject(signal.reason);
      const w = {
        messages,
        resolve: () => {
          this.waiters.delete(w);
          signal?.removeEventListener('abort', abort);
          resolve();
        },
      };
      const abort = () => {
        this.waiters.delete(w);
        reject(signal!.reason);
      };
      this.waiters.add(w);
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  /** Starts the thread; resolves once it consumes, rejects with its reason when it cannot connect or subscribe. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const thread = spawnTsWorker(new URL('./consumer-thread.ts', import.meta.url), { ...this.config });
      this.thread = thread;
      let started = false;
      thread.on('message', (m: FromConsumer) => {
        if (m.type === 'started') {
          started = true;
          this.restarts = 0;
          resolve();
        } else if (m.type === 'failed') reject(new Error(m.message));
        else this.handle(thread, m);
      });
      thread.on('error', (err) => this.log(`kafka: the consumer thread failed: ${err.stack ?? err.message}`));
      thread.on('exit', (code) => {
        if (!started) return reject(new Error(`kafka: the consumer thread exited (code ${code}) before consuming ${this.config.topic}`));
        if (this.thread === thread && !this.stopping) this.restart(code);
      });
    });
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const thread = this.thread;
      if (!thread) return;
      const exited = new Promise((resolve) => thread.once('exit', resolve));
      this.post(thread, { type: 'stop' });
      await exited;
      await this.ingesting;
    })();
    return this.stopping;
  }

  private handle(thread: Worker, m: Exclude<FromConsumer, { type: 'started' | 'failed' }>): void {
    switch (m.type) {
      case 'log':
        return this.log(m.msg);
      case 'joined':
        return this.markJoined();
      case 'batch':
        this.ingesting = this.ingesting.then(() => this.ingest(thread, m.id, m.records));
        return;
      case 'flush':
        // After the batches before it: what the thread commits next is what it has handed over.
        void this.ingesting
          .then(() => this.target.flush())
          .then(
            () => this.post(thread, { type: 'durable', id: m.id }),
            (err: Error) => this.post(thread, { type: 'durable', id: m.id, error: err.message }),
          );
        return;
      case 'committed':
        this.counts.messages += m.messages;
        this.counts.batches += m.batches;
        for (const w of this.waiters) if (this.counts.messages >= w.messages) w.resolve();
        return;
      case 'stopped':
        return;
    }
  }

  private async ingest(thread: Worker, id: number, records: RawInput[]): Promise<void> {
    try {
      await ingestSlices(this.target, records);
      this.post(thread, { type: 'ingested', id });
    } catch (err) {
      this.post(thread, { type: 'ingested', id, error: (err as Error).message });
    }
  }

  private post(thread: Worker, m: ToConsumer): void {
    if (this.thread === thread) thread.postMessage(m);
  }

  private restart(code: number): void {
    const delay = restartDelay(this.restarts++);
    this.log(`kafka: the consumer thread exited (code ${code}); starting it again in ${delay} ms (what it had not committed is redelivered)`);
    this.thread = undefined;
    setTimeout(() => {
      if (this.stopping) return;
      this.start().catch((err: Error) => {
        this.log(err.message);
        if (!this.stopping) this.restart(1);
      });
    }, delay).unref();
  }
}
