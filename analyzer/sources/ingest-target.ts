// The narrow seam between the transports (Kafka, ALS, HTTP, xDS observations)
// and the analyzer core. Transports never parse or judge a record: they hand
// over the raw value and where it came from, and the core counts every outcome.
// The Analyzer of ../index.ts satisfies it; benches and tests may wrap it.
import type { IngestResult, RawInput, RejectionLog } from '../index.ts';

export type { IngestResult, RawInput, RejectionLog };

export interface IngestTarget {
  /** With `rejections`, the first few rejected inputs are told there too (for a reply to the sender). */
  ingest(batch: readonly RawInput[], rejections?: RejectionLog): IngestResult;
  /** Makes the effects of every ingested record durable; resolves once they are. Transports acknowledge only after it. */
  flush(): Promise<void>;
}

export function emptyResult(): IngestResult {
  return { accepted: 0, rejected: 0, unresolved: 0, duplicates: 0 };
}

export function addResult(into: IngestResult, r: IngestResult): IngestResult {
  into.accepted += r.accepted;
  into.rejected += r.rejected;
  into.unresolved += r.unresolved;
  into.duplicates += r.duplicates;
  return into;
}
