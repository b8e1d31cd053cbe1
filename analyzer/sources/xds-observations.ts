// Proxyless gRPC clients never log their calls; the xDS server reports each
// service they subscribe to as a record, fed to the core in-process.
import type { AccessLogRecord } from '../../contracts/index.ts';
import { BatchingIngest } from './batching-ingest.ts';
import type { IngestTarget } from './ingest-target.ts';

export interface ObservationSource {
  onObservation(listener: (record: AccessLogRecord) => void): unknown;
}

export function feedObservations(xds: ObservationSource, target: IngestTarget, log: (msg: string) => void = () => {}): { close(): Promise<void> } {
  const ingest = new BatchingIngest(target, { onError: (e) => log(`xDS observations: ingest failed: ${e.message}`) });
  let open = true;
  xds.onObservation((record) => {
    if (open) ingest.push({ value: record as unknown as Record<string, unknown>, ref: `xds:${record.source ?? record.sourceAddress ?? 'unknown'}` });
  });
  return {
    close: () => {
      open = false;
      return ingest.close();
    },
  };
}
