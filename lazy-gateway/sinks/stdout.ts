// The default sink with no --kafka or --analyzer: records as NDJSON on stdout.
import type { AccessLogRecord, AccessLogSink } from '../../contracts/access-log.ts';

export class StdoutSink implements AccessLogSink {
  async send(records: readonly AccessLogRecord[]): Promise<void> {
    let out = '';
    for (const r of records) out += `${JSON.stringify(r)}\n`;
    await new Promise<void>((resolve, reject) => process.stdout.write(out, (err) => (err ? reject(err) : resolve())));
  }
}
