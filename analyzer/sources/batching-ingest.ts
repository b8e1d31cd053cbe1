// Streams that deliver records one by one (ALS, xDS observations) are ingested
// in batches per event-loop turn and flushed on a short timer, so a busy proxy
// costs one core call per turn instead of one per record.
import type { IngestTarget, RawInput } from './ingest-target.ts';

export class BatchingIngest {
  private queue: RawInput[] = [];
  private scheduled = false;
  private flushTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly target: IngestTarget,
    private readonly opts: { maxBatch?: number; flushMs?: number; onError?: (err: Error) => void } = {},
  ) {}

  push(input: RawInput): void {
    if (this.closed) throw new Error('ingest is closed: the analyzer is shutting down');
    this.queue.push(input);
    if (this.queue.length >= (this.opts.maxBatch ?? 5000)) this.drain();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Ingests what is queued now; the flush follows within flushMs. */
  drain(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    try {
      this.target.ingest(batch);
    } catch (err) {
      this.opts.onError?.(err as Error);
      return;
    }
    this.flushTimer ??= setTimeout(() => void this.flushNow(), this.opts.flushMs ?? 200);
  }

  private async flushNow(): Promise<void> {
    this.flushTimer = undefined;
    try {
      await this.target.flush();
    } catch (err) {
      // What failed to be written stays pending in the target, whose flush timer retries it
      // with back-off (analyzer/core/store/flush-health.ts): one policy, not one per transport.
      this.opts.onError?.(err as Error);
    }
  }

  /** Ingests and flushes everything queued; later pushes throw. Resolves once it is durable. */
  async close(): Promise<void> {
    this.drain();
    this.closed = true;
    clearTimeout(this.flushTimer);
    await this.flushNow();
  }
}
