// A strict, incremental HTTP/1.1 request parser for caller connections:
// request line and fields, then the body as framed by h1-message.ts. The
// gateway faces callers it does not control, so every framing ambiguity that
// request smuggling lives on (length next to chunked, differing lengths,
// folded lines, bare CR or LF, whitespace before the colon) is refused.
import { fieldName, fieldValue, MessageParser, State, type BodyEvents } from './h1-message.ts';

export interface ParsedRequest {
  method: string;
  /** The request-target as sent (origin, absolute, authority or asterisk form). */
  target: string;
  http10: boolean;
  /** Every field, lowercase names: [name, value, name, value, ...]. */
  fields: string[];
  /** Whether the caller wants the connection kept for another request. */
  keepAlive: boolean;
  expectContinue: boolean;
  contentLength: number;
  chunked: boolean;
}

export interface RequestEvents extends BodyEvents {
  head(request: ParsedRequest): void;
}

/** Bad caller input, with the status and x-meshscope-error reason to answer it with. */
export class RequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** Pipelined bytes held beyond this stop reading from the caller until its turn comes. */
const HOLD_LIMIT = 64 * 1024;
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const TARGET = /^[\x21-\x7e]+$/;

function hasToken(list: string, token: string): boolean {
  for (const t of list.split(',')) if (fieldValue(t, 0).toLowerCase() === token) return true;
  return false;
}

/** The four request-target forms of RFC 9112 §3.2, each only where it belongs. */
function targetFits(method: string, target: string): boolean {
  const c = target.charCodeAt(0);
  if (c === 47 /* / */) return true;
  if (target === '*') return method === 'OPTIONS';
  if (method === 'CONNECT') return /^[A-Za-z0-9\-._~%!$&'()*+,;=[\]]+:\d{1,5}$/.test(target);
  // Schemes of letters only, as llhttp reads them: RFC 3986 would allow digits, '+', '-' and '.',
  // but no scheme the gateway forwards has them, and a neighbour that refuses the target must not see it forwarded.
  // The authority holds RFC 3986's characters only (llhttp refuses '"', '<', '{', ... there too).
  return /^[A-Za-z]+:\/\/[A-Za-z0-9\-._~%!$&'()*+,;=:@[\]]+(?:[/?#]|$)/.test(target);
}

export class RequestParser extends MessageParser {
  /** Bytes after the current request (pipelined), held until next(). */
  private held: Buffer | null = null;

  constructor(
    protected override readonly events: RequestEvents,
    maxHeaderBytes: number,
  ) {
    super(events, maxHeaderBytes);
  }

  /** Body bytes still to come when the length is known; -1 for a chunked body still arriving. */
  get bodyRemaining(): number {
    return this.state === State.Length ? this.remaining : this.state === State.Done ? 0 : -1;
  }

  /** Forgets bytes held for a next request (the connection is closing). */
  discard(): void {
    this.held = null;
  }

  /** Starts on the next request, parsing whatever arrived behind the last one. Returns whether to keep reading. */
  next(): boolean {
    this.state = State.Head;
    this.started = false;
    const held = this.held;
    this.held = null;
    return held ? this.feed(held) : true;
  }

  override feed(data: Buffer): boolean {
    if (this.state === State.Done) {
      // The next request is parsed only once this one is answered.
      return this.hold(data, 0);
    }
    if (this.state === State.Head && this.pending === null) {
      // Empty lines before a request line are allowed (RFC 9112 §2.2).
      let at = 0;
      while (at + 1 < data.length && data[at] === 13 && data[at + 1] === 10) at += 2;
      if (at === data.length) return true;
      if (at > 0) data = data.subarray(at);
    }
    return super.feed(data);
  }

  /** Keeps bytes for the next request; returns whether to keep reading. */
  private hold(data: Buffer, at: number): boolean {
    if (at < data.length) {
      const rest = data.subarray(at);
      this.held = this.held ? Buffer.concat([this.held, rest]) : rest;
    }
    return this.held === null || this.held.length < HOLD_LIMIT;
  }

  protected fail(message: string, tooLarge = false): Error {
    return tooLarge ? new RequestError(`request ${message}`, 431, 'headers-too-large') : new RequestError(`malformed HTTP/1.1 request: ${message}`, 400, 'bad-request');
  }

  protected override refusedTrailer(name: string): boolean {
    // Framing fields in trailers come too late to frame anything; Node's parser refuses them too.
    return name === 'content-length' || name === 'transfer-encoding';
  }

  protected finish(data: Buffer, at: number, trailers: string[] | null): boolean {
    this.state = State.Done;
    const reading = this.hold(data, at);
    this.events.done(trailers);
    return reading;
  }

  protected onHead(head: string): void {
    // Empty lines before a request line that arrived split across reads (RFC 9112 §2.2).
    while (head.charCodeAt(0) === 13 && head.charCodeAt(1) === 10) head = head.slice(2);
    if (head === '') return;
    const lines = head.split('\r\n');
    const line = lines[0];
    const sp1 = line.indexOf(' ');
    const sp2 = sp1 === -1 ? -1 : line.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 === -1 || line.indexOf(' ', sp2 + 1) !== -1) throw this.fail(`bad request line ${JSON.stringify(line.slice(0, 60))}`);
    const method = line.slice(0, sp1);
    const target = line.slice(sp1 + 1, sp2);
    const version = line.slice(sp2 + 1);
    if (!METHOD.test(method)) throw this.fail(`bad method ${JSON.stringify(method.slice(0, 20))}`);
    if (!TARGET.test(target) || !targetFits(method, target)) throw this.fail(`bad request target ${JSON.stringify(target.slice(0, 60))}`);
    if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') {
      throw new RequestError(`${JSON.stringify(version.slice(0, 20))} is not supported: speak HTTP/1.1, or HTTP/2 with prior knowledge`, 505, 'unsupported-version');
    }
    const http10 = version === 'HTTP/1.0';
    const fields: string[] = [];
    let length = -1;
    let transferEncoding = false;
    let connection = '';
    let hosts = 0;
    let expectContinue = false;
    for (let i = 1; i < lines.length; i++) {
      const field = lines[i];
      const c0 = field.charCodeAt(0);
      if (c0 === 32 || c0 === 9) throw this.fail('obsolete line folding');
      const colon = field.indexOf(':');
      const name = colon > 0 ? fieldName(field.slice(0, colon)) : undefined;
      if (name === undefined) throw this.fail(`bad header line ${JSON.stringify(field.slice(0, 40))}`);
      const value = fieldValue(field, colon + 1);
      switch (name) {
        case 'content-length': {
          if (!/^\d{1,15}$/.test(value)) throw this.fail(`bad content-length ${JSON.stringify(value.slice(0, 20))}`);
          // Even an identical repeat is refused: some peers take the sum, or the last.
          if (length !== -1) throw this.fail('more than one content-length');
          length = Number(value);
          break;
        }
        case 'transfer-encoding':
          if (transferEncoding || value.toLowerCase() !== 'chunked') {
            throw new RequestError(`transfer-encoding ${JSON.stringify(value.slice(0, 40))} is not supported; only chunked is`, 501, 'unsupported-transfer-encoding');
          }
          transferEncoding = true;
          break;
        case 'connection':
          connection = connection ? `${connection},${value}` : value;
          break;
        case 'host':
          if (++hosts > 1) throw this.fail('more than one Host header');
          break;
        case 'expect':
          if (value.toLowerCase() !== '100-continue') throw new RequestError(`expectation ${JSON.stringify(value.slice(0, 40))} cannot be met; only 100-continue can`, 417, 'expectation-failed');
          expectContinue = true;
          break;
      }
      fields.push(name, value);
    }
    if (transferEncoding && length !== -1) throw this.fail('both content-length and transfer-encoding');
    if (transferEncoding && http10) throw this.fail('transfer-encoding in an HTTP/1.0 request');
    const keepAlive = method !== 'CONNECT' && (connection === '' ? !http10 : http10 ? hasToken(connection, 'keep-alive') : !hasToken(connection, 'close'));
    if (transferEncoding) this.state = State.ChunkSize;
    else if (length > 0) {
      this.remaining = length;
      this.state = State.Length;
    } else this.state = State.Done;
    this.events.head({ method, target, http10, fields, keepAlive, expectContinue, contentLength: length, chunked: transferEncoding });
  }
}
