// What HTTP/1.1 requests and responses share: field-name rules and the body
// framing state machine (length, chunked with trailers, until close). The
// request parser (callers) and the response parser (upstreams) add their own
// start line and framing decisions. Both are strict: anything ambiguous is an
// error, never a guess, so neither side can desynchronize a connection.
import { RESPONSE_HOP } from './headers.ts';

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
  protected pending: Buffer | null = null;
  protected remaining = 0;
  /** True once any byte of the current message arrived. */
  started = false;

  constructor(
    protected readonly events: BodyEvents,
    protected readonly maxHeaderBytes: number,
  ) {}

  get done(): boolean {
    return this.state === State.Done;
  }

  /** Handles the head (start line and fields, without the final CRLF CRLF) and sets the body state. */
  protected abstract onHead(head: string): void;
  /** The error to throw for bad input; `tooLarge` marks size limits. */
  protected abstract fail(message: string, tooLarge?: boolean): Error;
  /** The message ended at `at`; returns whether to keep going. */
  protected abstract finish(data: Buffer, at: number, trailers: string[] | null): boolean;

  /** Feeds bytes; returns false when the consumer asked to pause. Throws on bad input. */
  feed(data: Buffer): boolean {
    this.started = true;
    if (this.pending) {
      data = Buffer.concat([this.pending, data]);
      this.pending = null;
    }
    let flowing = true;
    let at = 0;
    while (at < data.length) {
      switch (this.state) {
        case State.Done:
          return this.finish(data, at, null) && flowing;
        case State.Head: {
          const end = data.indexOf(CRLF2, at);
          if (end === -1) {
            if (data.length - at > this.maxHeaderBytes) throw this.fail(`head exceeds ${this.maxHeaderBytes} bytes`, true);
            this.pending = data.subarray(at);
            return flowing;
          }
          if (end - at > this.maxHeaderBytes) throw this.fail(`head exceeds ${this.maxHeaderBytes} bytes`, true);
          const head = data.toString('latin1', at, end);
          if (BAD_HEAD_BYTES.test(head)) throw this.fail('control character or bare CR/LF in the head');
          at = end + 4;
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
          const end = data.indexOf(CRLF, at);
          if (end === -1) {
            if (data.length - at > 1024) throw this.fail('chunk size line too long');
            this.pending = data.subarray(at);
            return flowing;
          }
          const line = data.toString('latin1', at, end);
          at = end + 2;
          const semi = line.indexOf(';');
          const hex = (semi === -1 ? line : line.slice(0, semi)).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw this.fail(`bad chunk size ${JSON.stringify(hex)}`);
          this.remaining = parseInt(hex, 16);
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
          const end = data.indexOf(CRLF2, at);
          if (end === -1) {
            if (data.length - at > this.maxHeaderBytes) throw this.fail('trailers too large', true);
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

  /** Trailer lines as a flat [name, value, ...] list, hop-by-hop fields left out. */
  private trailerFields(lines: string[]): string[] {
    const out: string[] = [];
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = colon > 0 ? fieldName(line.slice(0, colon)) : undefined;
      if (name === undefined) throw this.fail(`bad trailer line ${JSON.stringify(line.slice(0, 40))}`);
      if (!RESPONSE_HOP.has(name)) out.push(name, line.slice(colon + 1).trim());
    }
    return out;
  }
}
