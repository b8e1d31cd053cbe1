// What the Kafka consumer's thread (consumer-thread.ts) and the analyzer's
// side of it (source.ts) say to each other. Records cross as RawInputs, a
// fetched batch at a time (the analyzer slices it at its own pace); the core
// stays on the analyzer's thread and the thread only ever commits what the
// analyzer has said is durable.
import type { RawInput } from '../ingest-target.ts';

export interface ConsumerConfig {
  brokers: string[];
  topic: string;
  group: string;
  clientId: string;
  fetchMaxBytes?: number;
}

/** Thread → analyzer. */
export type FromConsumer =
  | { type: 'log'; msg: string }
  /** Connected and subscribed; consuming. */
  | { type: 'started' }
  /** Could not connect or subscribe: why, with the fix. */
  | { type: 'failed'; message: string }
  /** Joined the group and holds partitions. */
  | { type: 'joined' }
  /** One fetched batch, converted; answered by `ingested` with the same id. */
  | { type: 'batch'; id: number; records: RawInput[] }
  /** Make everything ingested so far durable; answered by `durable` with the same id. */
  | { type: 'flush'; id: number }
  /** Offsets of these messages and batches are committed. */
  | { type: 'committed'; messages: number; batches: number }
  /** Left the group and disconnected: the thread ends. */
  | { type: 'stopped' };

/** Analyzer → thread. */
export type ToConsumer =
  | { type: 'ingested'; id: number; error?: string }
  | { type: 'durable'; id: number; error?: string }
  /** Finish the batch in hand and the commit in flight, leave the group, disconnect. */
  | { type: 'stop' };
