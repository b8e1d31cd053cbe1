// Splits an NDJSON byte stream into lines without holding more than one line
// (bounded by maxLineBytes) plus one chunk in memory, whatever the body size.

export interface NdjsonLine {
  /** 1-based line number in the stream. */
  line: number;
  text: string;
  /** Set when the line exceeded the limit; `text` then holds only its start. */
  tooLong?: number;
}

export interface NdjsonOptions {
  maxLineBytes?: number;
  /** Lines per yielded batch. */
  batchLines?: number;
}

const NEWLINE = 0x0a;
const PREVIEW = 200;

export async function* ndjsonBatches(
  body: AsyncIterable<Buffer | string>,
  opts: NdjsonOptions = {},
): AsyncGenerator<NdjsonLine[]> {
  const maxLine = opts.maxLineBytes ?? 1 << 20;
  const batchLines = opts.batchLines ?? 2000;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let dropping = 0; // bytes of an oversized line discarded so far
  let lineNo = 0;
  let batch: NdjsonLine[] = [];

  const finishLine = (tail: Buffer) => {
    lineNo++;
    const total = (dropping > 0 ? dropping : pendingBytes) + tail.length;
    if (dropping > 0 || total > maxLine) {
      const head = pending.length > 0 ? Buffer.concat([...pending, tail.subarray(0, PREVIEW)]) : tail;
      batch.push({ line: lineNo, text: head.subarray(0, PREVIEW).toString('utf8'), tooLong: total });
    } else {
      const buf = pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
      const text = stripCr(buf.toString('utf8'));
      if (text.trim() !== '') batch.push({ line: lineNo, text });
    }
    pending = [];
    pendingBytes = 0;
    dropping = 0;
  };

  for await (const raw of body) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      finishLine(chunk.subarray(start, nl));
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) keepPartial(rest);
    if (batch.length >= batchLines) {
      yield batch;
      batch = [];
    }
  }
  if (pendingBytes > 0 || dropping > 0) finishLine(Buffer.alloc(0));
  if (batch.length > 0) yield batch;

  function keepPartial(rest: Buffer) {
    if (dropping > 0) {
      dropping += rest.length;
      return;
    }
    if (pendingBytes + rest.length > maxLine) {
      // Keep only a preview for the rejected list; the rest of the line is skipped.
      pending = [Buffer.concat([...pending, rest]).subarray(0, PREVIEW)];
      dropping = pendingBytes + rest.length;
      pendingBytes = 0;
      return;
    }
    pending.push(Buffer.from(rest)); // copy: the chunk's memory may be reused by the stream
    pendingBytes += rest.length;
  }
}

function stripCr(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}
