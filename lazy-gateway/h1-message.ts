// What HTTP/1.1 requests and responses share: field-name rules and the body
// framing state machine (length, chunked with trailers, until close). The
// request parser (callers) and the response parser (upstreams) add their own
// start line and framing decisions. Both are strict: anything ambiguous is an
// error, never a guess, so neither side can desynchronize a connection.
import { NOT_TRAILERS } from './headers.ts';

export interface BodyEvents {
  /** Returns false when the consumer wants the connection paused. */
  body(chunk: Buffer): boolean;
  done(trailers: string[] | null): void;
}

export const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
}

const CRLF2 = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
export const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
/**
 * Control characters, and CR or LF that are not a CRLF pair: never valid in a
 * head, and the stuff of header injection when passed on.
 */
const BAD_HEAD_BYTES = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n/;

/**
 * Where a bad head byte (see BAD_HEAD_BYTES) lies in data[from..], or -1; a CR
 * at the very end may still get its LF. For heads that arrive in pieces: a
 * head ended by bare LFs never shows the CRLF CRLF the parser waits for, so it
 * is refused as soon as the bad byte arrives rather than at the idle timeout.
 */
function badByteIn(data: Buffer, start: number, from: number): number {
  for (let i = Math.max(start, from); i < data.length; i++) {
    const b = data[i];
    if (b >= 32 && b !== 127) continue;
    if (b === 9) continue;
    if (b === 10 && i > start && data[i - 1] === 13) continue;
    if (b === 13 && (i + 1 === data.length || data[i + 1] === 10)) continue;
    return i;
  }
  return -1;
}

const TOKEN_CHARS = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
/** A chunk size and extensions exactly as RFC 9112 §7.1.1 spells them (BWS ";" name [ BWS "=" BWS token / quoted-string ]). */
const CHUNK_LINE = new RegExp(`^([0-9A-Fa-f]{1,12})(?:[ \\t]*;[ \\t]*${TOKEN_CHARS}(?:[ \\t]*=[ \\t]*(?:${TOKEN_CHARS}|${QUOTED}))?)*$`);
/** One chunk-size line, and all of them in one message, may be this long (extensions are read, never used). */
const CHUNK_LINE_LIMIT = 1024;
const CHUNK_LINES_LIMIT = 16 * 1024;

/** A field value without the optional whitespace around it: spaces and tabs only (String.trim takes more). */
export function fieldValue(line: string, from: number): string {
  let start = from;
  let end = line.length;
  while (start < end && (line.charCodeAt(start) === 32 || line.charCodeAt(start) === 9)) start++;
  while (end > start && (line.charCodeAt(end - 1) === 32 || line.charCodeAt(end - 1) === 9)) end--;
  return start === from && end === line.length ? line.slice(from) : line.slice(start, end);
}

/** Field names as spelled by peers → their validated lowercase form; peers repeat the same few names. */
const NAMES = new Map<string, string>();
const NAMES_LIMIT = 1024;

/** The lowercase form of a field name, or undefined when it is not a token. */
export function fieldName(raw: string): string | undefined {
  let name = NAMES.get(raw);
  if (name !== undefined) return name;
  name = raw.toLowerCase();
  if (!TOKEN.test(name)) return undefined;
  if (NAMES.size < NAMES_LIMIT) NAMES.set(raw, name);
  return name;
}

export abstract class MessageParser {
  protected state = State.Done;
  /** An incomplete head, chunk line or trailers, kept until the rest arrives. */
  protected pending: Buffer | null = null;
  /**
   * Where pending bytes grow (doubling), so a head sent a byte at a time costs
   * linear time, not quadratic. Reused only while nothing in it was consumed.
   */
  private store: Buffer | null = null;
  protected remaining = 0;
  private chunkLineBytes = 0;
  /** True once any byte of the current message arrived. */
  started = false;

  constructor(
    protected readonly events: BodyEvents,
    protected readonly maxHeaderBytes: number,
  ) {}

  /** Handles the head (start line and fields, without the final CRLF CRLF) and sets the body state. */
  protected abstract onHead(head: string): void;
  /** The error to throw for bad input; `tooLarge` marks size limits. */
  protected abstract fail(message: string, tooLarge?: boolean): Error;
  /** The message ended at `at`; returns whether to keep going. */
  protected abstract finish(data: Buffer, at: number, trailers: string[] | null): boolean;

  /** Feeds bytes; returns false when the consumer asked to pause. Throws on bad input. */
  feed(data: Buffer): boolean {
    this.started = true;
    // Delimiters are searched for only where they could newly end.
    let from = 0;
    if (this.pending) {
      from = Math.max(0, this.pending.length - 3);
      data = this.join(this.pending, data);
      this.pending = null;
    }
    let flowing = true;
    let at = 0;
    while (at < data.length) {
      switch (this.state) {
        case State.Done:
          return this.finish(data, at, null) && flowing;
        case State.Head: {
          const end = data.indexOf(CRLF2, Math.max(at, from));
          if (end === -1) {
            if (badByteIn(data, at, from) !== -1) throw this.fail('control character or bare CR/LF in the head');
            // Up to 3 of the bytes held may be the start of the blank line that ends the head.
            if (data.length - at - 3 > this.maxHeaderBytes) throw this.fail(`head exceeds ${this.maxHeaderBytes} bytes`, true);
            this.pending = data.subarray(at);
            return flowing;
          }
          if (end - at > this.maxHeaderBytes) throw this.fail(`head exceeds ${this.maxHeaderBytes} bytes`, true);
          const head = data.toString('latin1', at, end);
          if (BAD_HEAD_BYTES.test(head)) throw this.fail('control character or bare CR/LF in the head');
          at = end + 4;
          this.chunkLineBytes = 0;
          this.onHead(head);
          break;
        }
        case State.Length:
        case State.ChunkData: {
          const n = Math.min(this.remaining, data.length - at);
          const chunk = data.subarray(at, at + n);
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = this.state === State.Length ? State.Done : State.ChunkDataEnd;
          if (!this.events.body(chunk)) flowing = false;
          break;
        }
        case State.ChunkSize: {
          const end = data.indexOf(CRLF, Math.max(at, from));
          if (end === -1) {
            // No CRLF yet: a LF here is a bare one, and the line can never be valid.
            if (data.indexOf(10, at) !== -1) throw this.fail('bare LF in a chunk size line');
            if (data.length - at - 1 > CHUNK_LINE_LIMIT) throw this.fail('chunk size line too long');
            this.pending = data.subarray(at);
            return flowing;
          }
          if (end - at > CHUNK_LINE_LIMIT) throw this.fail('chunk size line too long');
          this.chunkLineBytes += end - at;
          if (this.chunkLineBytes > CHUNK_LINES_LIMIT) throw this.fail('chunk extensions too large');
          const line = data.toString('latin1', at, end);
          at = end + 2;
          const m = CHUNK_LINE.exec(line);
          if (!m) throw this.fail(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
          this.remaining = parseInt(m[1], 16);
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkDataEnd: {
          if (data.length - at < 2) {
            this.pending = data.subarray(at);
            return flowing;
          }
          if (data[at] !== 13 || data[at + 1] !== 10) throw this.fail('missing CRLF after a chunk');
          at += 2;
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          // Either an empty line, or trailer fields ending with one.
          if (data.length - at >= 2 && data[at] === 13 && data[at + 1] === 10) return this.finish(data, at + 2, null) && flowing;
          const end = data.indexOf(CRLF2, Math.max(at, from));
          if (end === -1) {
            if (badByteIn(data, at, from) !== -1) throw this.fail('control character or bare CR/LF in the trailers');
            if (data.length - at - 3 > this.maxHeaderBytes) throw this.fail('trailers too large', true);
            this.pending = data.subarray(at);
            return flowing;
          }
          const text = data.toString('latin1', at, end);
          if (BAD_HEAD_BYTES.test(text)) throw this.fail('control character or bare CR/LF in the trailers');
          return this.finish(data, end + 4, this.trailerFields(text.split('\r\n'))) && flowing;
        }
        case State.UntilClose: {
          if (!this.events.body(at === 0 ? data : data.subarray(at))) flowing = false;
          return flowing;
        }
      }
    }
    if (this.state === State.Done) return this.finish(data, at, null) && flowing;
    return flowing;
  }

  /** Trailer fields refused outright (the rest that may not be trailers are dropped). */
  protected refusedTrailer(_name: string): boolean {
    return false;
  }

  /** pending + data in one buffer: appended in place when pending is the untouched start of the store. */
  private join(pending: Buffer, data: Buffer): Buffer {
    const need = pending.length + data.length;
    const store = this.store;
    if (store !== null && pending.byteOffset === store.byteOffset && pending.buffer === store.buffer && store.length >= need) {
      data.copy(store, pending.length);
      return store.subarray(0, need);
    }
    const grown = Buffer.allocUnsafeSlow(Math.max(need * 2, 4096));
    pending.copy(grown, 0);
    data.copy(grown, pending.length);
    this.store = grown;
    return grown.subarray(0, need);
  }

  /** Trailer lines as a flat [name, value, ...] list, without fields that may not be trailers. */
  private trailerFields(lines: string[]): string[] {
    const out: string[] = [];
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = colon > 0 ? fieldName(line.slice(0, colon)) : undefined;
      if (name === undefined || this.refusedTrailer(name)) throw this.fail(`bad trailer line ${JSON.stringify(line.slice(0, 40))}`);
      if (!NOT_TRAILERS.has(name)) out.push(name, fieldValue(line, colon + 1));
    }
    return out;
  }
}
