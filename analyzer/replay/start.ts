// Where the replay clock starts: at the first record time in the file. A
// record without a time takes the latest time seen before it; one ahead of
// every timed record would otherwise land at the epoch and expire the moment
// the first real time arrived, making the result depend on line order.
import { DEFAULT_MAX_LINE, isRejection, normalize } from '../index.ts';
import { ndjsonBatches } from '../sources/ndjson.ts';

/** The time of the first record that carries one, or undefined when none does. */
export async function firstRecordTime(chunks: AsyncIterable<Buffer | string>): Promise<number | undefined> {
  for await (const batch of ndjsonBatches(chunks, { maxLineBytes: DEFAULT_MAX_LINE })) {
    for (const l of batch) {
      if (l.tooLong !== undefined) continue;
      const r = normalize(l.text);
      if (!isRejection(r) && r.timeMs !== undefined) return r.timeMs;
    }
  }
  return undefined;
}
