// Delivers access-log records to Kafka: one message per record, keyed by the
// caller so one caller's records stay in order on one partition.
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { DEFAULT_ACCESS_LOG_TOPIC, type AccessLogRecord, type AccessLogSink } from '../../contracts/access-log.ts';

export interface KafkaSinkOptions {
  brokers: string[];
  topic?: string;
  clientId?: string;
}

export class KafkaSink implements AccessLogSink {
  readonly topic: string;
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;

  constructor(options: KafkaSinkOptions) {
    if (options.brokers.length === 0 || options.brokers.some((b) => !/^[^\s:]+:\d+$/.test(b))) {
      throw new Error(`--kafka ${options.brokers.join(',')}: expected HOST:PORT[,HOST:PORT...]`);
    }
    this.topic = options.topic ?? DEFAULT_ACCESS_LOG_TOPIC;
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'meshscope-gateway',
      brokers: options.brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 10_000,
      // The reporter retries whole batches; kafkajs need not retry for long on its own.
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
  }

  private connect(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= (async () => {
      const producer = this.kafka.producer({ allowAutoTopicCreation: true });
      try {
        await producer.connect();
      } catch (err) {
        await producer.disconnect().catch(() => undefined);
        throw err;
      }
      producer.on(producer.events.DISCONNECT, () => {
        if (this.producer === producer) this.producer = undefined;
      });
      this.producer = producer;
      return producer;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async send(records: readonly AccessLogRecord[]): Promise<void> {
    const producer = await this.connect();
    try {
      await producer.send({
        topic: this.topic,
        messages: records.map((r) => ({ key: r.source ?? r.sourceAddress ?? null, value: JSON.stringify(r) })),
      });
    } catch (err) {
      // Start over with a fresh connection next time: the broker may have moved or restarted.
      if (this.producer === producer) this.producer = undefined;
      await producer.disconnect().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    await p?.disconnect().catch(() => undefined);
  }
}
