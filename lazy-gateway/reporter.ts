// Access-log reporting off the request path: a bounded buffer drained in
// batches. A slow or absent sink costs records (counted), never requests.
// A record is sent on the next tick after it is queued, not on a timer: the
// first call to an unscoped service is what widens the caller's scope, so its
// report is on the time-to-direct path. Batches form by themselves while a
// send is in flight; the interval only retries a sink that is backing off.
import type { AccessLogRecord, AccessLogSink } from '../contracts/access-log.ts';
import type { ReportStats } from './metrics.ts';

export interface ReporterOptions {
  /** Records held while the sink is slow or down; beyond it new records are dropped. */
  capacity?: number;
  batchSize?: number;
  /** How often a sink that failed is retried once its backoff is over. */
  flushIntervalMs?: number;
  /** A send that takes longer counts as failed and is retried (consumers dedupe by requestId). */
  sendTimeoutMs?: number;
  retryMaxMs?: number;
  log?: (msg: string) => void;
}

export class Reporter {
  private queue: AccessLogRecord[] = [];
  private sending = false;
  private retryAt = 0;
  private backoffMs = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly capacity: number;
  private readonly batchSize: number;
  private readonly sendTimeoutMs: number;
  private readonly retryMaxMs: number;
  private readonly log: (msg: string) => void;
  private lastError = '';
  private scheduled = false;
  dropped = 0;
  sent = 0;
  failures = 0;

  constructor(
    private readonly sink: AccessLogSink,
    options: ReporterOptions = {},
  ) {
    this.capacity = options.capacity ?? 10_000;
    this.batchSize = options.batchSize ?? 500;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 10_000;
    this.retryMaxMs = options.retryMaxMs ?? 5_000;
    this.log = options.log ?? ((m) => process.stderr.write(`${m}\n`));
    this.timer = setInterval(() => this.flush(), options.flushIntervalMs ?? 100);
    this.timer.unref();
  }

  push(record: AccessLogRecord): void {
    if (this.queue.length >= this.capacity) {
      this.dropped++;
      return;
    }
    this.queue.push(record);
    // The first record queued schedules the send; the ones after it in this tick ride along.
    if (this.queue.length === 1 && !this.sending && this.retryAt === 0) this.soon();
  }

  private soon(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  stats(): ReportStats {
    return { depth: this.queue.length, capacity: this.capacity, dropped: this.dropped, sent: this.sent, failures: this.failures };
  }

  /** Sends one batch unless one is in flight or the sink is backing off; resolves when that send settles. */
  flush(): Promise<void> {
    if (this.sending || this.queue.length === 0 || Date.now() < this.retryAt) return Promise.resolve();
    this.sending = true;
    const batch = this.queue.slice(0, this.batchSize);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`sink did not answer within ${this.sendTimeoutMs} ms`)), this.sendTimeoutMs);
    });
    return Promise.race([Promise.resolve().then(() => this.sink.send(batch)), timeout])
      .then(
        () => {
          this.queue.splice(0, batch.length);
          this.sent += batch.length;
          if (this.backoffMs > 0) this.log(`access-log sink: delivering again (${this.queue.length} records queued)`);
          this.backoffMs = 0;
          this.retryAt = 0;
          this.lastError = '';
        },
        (err: Error) => {
          this.failures++;
          this.backoffMs = Math.min(this.retryMaxMs, this.backoffMs ? this.backoffMs * 2 : 100);
          this.retryAt = Date.now() + this.backoffMs;
          if (err.message !== this.lastError) {
            this.lastError = err.message;
            this.log(`access-log sink: send failed, retrying (${this.queue.length} queued, ${this.dropped} dropped): ${err.message}`);
          }
        },
      )
      .finally(() => {
        clearTimeout(timer);
        this.sending = false;
        // What queued while this batch was in flight goes next; a failed sink waits for its backoff (the interval).
        if (this.queue.length > 0 && this.retryAt === 0) this.soon();
      });
  }

  /** Stops the timer and tries to deliver what is queued within `timeoutMs`. */
  async close(timeoutMs = 5_000): Promise<void> {
    clearInterval(this.timer);
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 && Date.now() < deadline) {
      if (this.sending || Date.now() < this.retryAt) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      await this.flush();
    }
    if (this.queue.length > 0) this.log(`access-log sink: ${this.queue.length} records not delivered at shutdown`);
  }
}
