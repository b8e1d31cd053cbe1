// A strict, incremental HTTP/1.1 response parser for upstream connections:
// status line and headers, then the body framed by content-length, chunked
// encoding (with trailers) or the connection's end. Anything ambiguous is an
// error rather than a guess, so a confused upstream cannot desynchronize a
// pooled connection.

export interface ResponseEvents {
  head(status: number, headers: string[], trailers: boolean): void;
  /** Returns false when the consumer wants the connection paused. */
  body(chunk: Buffer): boolean;
  done(trailers: string[] | null): void;
}

export class ResponseError extends Error {
  readonly code = 'ERR_UPSTREAM_PROTOCOL';
}

const enum State {
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
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

export class ResponseParser {
  private state = State.Done;
  private pending: Buffer | null = null;
  private remaining = 0;
  private noBody = false;
  /** Whether the connection may carry another request once this response is done. */
  keepAlive = true;
  /** Keep-Alive: timeout=N from the upstream, in ms (0 when it sent none). */
  keepAliveMs = 0;
  /** True once any byte of this response arrived. */
  started = false;

  constructor(
    private readonly events: ResponseEvents,
    private readonly maxHeaderBytes: number,
  ) {}

  /** Prepares for the response to a new request. */
  expect(method: string): void {
    this.state = State.Head;
    this.pending = null;
    this.noBody = method === 'HEAD';
    this.keepAlive = true;
    this.started = false;
  }

  get done(): boolean {
    return this.state === State.Done;
  }

  /** True when the response runs until the connection closes. */
  get untilClose(): boolean {
    return this.state === State.UntilClose;
  }

  /** Feeds bytes; returns false when the consumer asked to pause. Throws ResponseError on bad input. */
  feed(data: Buffer): boolean {
    this.started = true;
    if (this.pending) {
      data = Buffer.concat([this.pending, data]);
      this.pending = null;
    }
    let flowing = true;
    let at = 0;
    while (at < data.length) {
      if (this.state === State.Done) return this.finish(data, at, null) && flowing;
      switch (this.state) {
        case State.Head: {
          const end = data.indexOf(CRLF2, at);
          if (end === -1) {
            if (data.length - at > this.maxHeaderBytes) throw new ResponseError(`upstream response head exceeds ${this.maxHeaderBytes} bytes`);
            this.pending = data.subarray(at);
            return flowing;
          }
          if (end - at > this.maxHeaderBytes) throw new ResponseError(`upstream response head exceeds ${this.maxHeaderBytes} bytes`);
          const head = data.toString('latin1', at, end);
          at = end + 4;
          this.onHead(head);
          break;
        }
        case State.Length: {
          const n = Math.min(this.remaining, data.length - at);
          const chunk = data.subarray(at, at + n);
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.Done;
          if (!this.events.body(chunk)) flowing = false;
          break;
        }
        case State.ChunkSize: {
          const end = data.indexOf(CRLF, at);
          if (end === -1) {
            if (data.length - at > 1024) throw new ResponseError('upstream chunk size line too long');
            this.pending = data.subarray(at);
            return flowing;
          }
          const line = data.toString('latin1', at, end);
          at = end + 2;
          const semi = line.indexOf(';');
          const hex = (semi === -1 ? line : line.slice(0, semi)).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new ResponseError(`bad chunk size ${JSON.stringify(hex)} from upstream`);
          this.remaining = parseInt(hex, 16);
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, data.length - at);
          const chunk = data.subarray(at, at + n);
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          if (!this.events.body(chunk)) flowing = false;
          break;
        }
        case State.ChunkDataEnd: {
          if (data.length - at < 2) {
            this.pending = data.subarray(at);
            return flowing;
          }
          if (data[at] !== 13 || data[at + 1] !== 10) throw new ResponseError('missing CRLF after an upstream chunk');
          at += 2;
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          // Either an empty line, or trailer fields ending with one.
          if (data.length - at >= 2 && data[at] === 13 && data[at + 1] === 10) return this.finish(data, at + 2, null) && flowing;
          const end = data.indexOf(CRLF2, at);
          if (end === -1) {
            if (data.length - at > this.maxHeaderBytes) throw new ResponseError('upstream trailers too large');
            this.pending = data.subarray(at);
            return flowing;
          }
          const trailers = parseFields(data.toString('latin1', at, end).split('\r\n'), 0, null);
          return this.finish(data, end + 4, trailers) && flowing;
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

  /** The upstream closed the connection: completes a close-delimited body, else it is an error. */
  end(): boolean {
    if (this.state === State.UntilClose) {
      this.state = State.Done;
      this.keepAlive = false;
      this.events.done(null);
      return true;
    }
    return false;
  }

  private finish(data: Buffer, at: number, trailers: string[] | null): boolean {
    this.state = State.Done;
    if (at < data.length) {
      // Bytes beyond the response: the upstream is out of step; never reuse it.
      this.keepAlive = false;
    }
    this.events.done(trailers);
    return true;
  }

  private onHead(head: string): void {
    const lines = head.split('\r\n');
    const statusLine = lines[0];
    if (!statusLine.startsWith('HTTP/1.') || statusLine.charCodeAt(8) !== 32 || (statusLine.length !== 12 && statusLine.charCodeAt(12) !== 32)) {
      throw new ResponseError(`bad upstream status line ${JSON.stringify(statusLine.slice(0, 40))}`);
    }
    const http10 = statusLine.charCodeAt(7) === 48;
    const status = Number(statusLine.slice(9, 12));
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new ResponseError(`bad upstream status ${JSON.stringify(statusLine.slice(9, 12))}`);
    const framing: Framing = { length: -1, chunked: false, close: http10, keepAliveMs: 0, trailer: false };
    const headers = parseFields(lines, 1, framing);
    if (status < 200) {
      // 1xx interim responses: the caller got its 100-continue from Node already.
      if (status === 101) throw new ResponseError('upstream switched protocols unasked');
      this.state = State.Head;
      return;
    }
    this.keepAlive = !framing.close;
    this.keepAliveMs = framing.keepAliveMs;
    if (this.noBody || status === 204 || status === 304) {
      this.state = State.Done;
    } else if (framing.chunked) {
      this.state = State.ChunkSize;
      // A length next to chunked encoding is a smuggling pattern: chunked wins (RFC 9112 §6.3),
      // the length is not passed on, and the connection is dropped after this response.
      if (framing.length !== -1) {
        this.keepAlive = false;
        dropField(headers, 'content-length');
      }
    } else if (framing.length >= 0) {
      this.remaining = framing.length;
      this.state = framing.length === 0 ? State.Done : State.Length;
    } else {
      this.state = State.UntilClose;
      this.keepAlive = false;
    }
    this.events.head(status, headers, framing.trailer);
  }
}

interface Framing {
  length: number;
  chunked: boolean;
  close: boolean;
  keepAliveMs: number;
  trailer: boolean;
}

/** Field names as spelled by upstreams → their validated lowercase form; upstreams repeat the same few names. */
const NAMES = new Map<string, string>();
const NAMES_LIMIT = 1024;

function fieldName(raw: string): string {
  let name = NAMES.get(raw);
  if (name !== undefined) return name;
  name = raw.toLowerCase();
  if (!TOKEN.test(name)) throw new ResponseError(`bad upstream header name ${JSON.stringify(name.slice(0, 40))}`);
  if (NAMES.size < NAMES_LIMIT) NAMES.set(raw, name);
  return name;
}

/** Parses `name: value` lines into a flat list, dropping hop-by-hop fields; `framing` collects what frames the body. */
function parseFields(lines: string[], from: number, framing: Framing | null): string[] {
  const out: string[] = [];
  let connection = '';
  for (let i = from; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ResponseError(`bad upstream header line ${JSON.stringify(line.slice(0, 40))}`);
    const name = fieldName(line.slice(0, colon));
    const value = line.slice(colon + 1).trim();
    if (HOP.has(name)) {
      if (framing) {
        if (name === 'connection') {
          connection = value.toLowerCase();
          if (/(^|[\s,])close($|[\s,])/.test(connection)) framing.close = true;
          else if (/(^|[\s,])keep-alive($|[\s,])/.test(connection)) framing.close = false;
        } else if (name === 'transfer-encoding') {
          const codings = value.toLowerCase().split(',').map((c) => c.trim());
          if (codings[codings.length - 1] !== 'chunked') framing.close = true; // read until close, as RFC 9112 §6.3 says
          else if (codings.length > 1) throw new ResponseError(`unsupported upstream transfer-encoding ${JSON.stringify(value)}`);
          else framing.chunked = true;
        } else if (name === 'keep-alive') {
          const m = /timeout=(\d+)/i.exec(value);
          if (m) framing.keepAliveMs = Number(m[1]) * 1000;
        }
      }
      continue;
    }
    if (framing && name === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) throw new ResponseError(`bad upstream content-length ${JSON.stringify(value)}`);
      const n = Number(value);
      if (framing.length !== -1 && framing.length !== n) throw new ResponseError('conflicting upstream content-length headers');
      framing.length = n;
    }
    if (framing && name === 'trailer') framing.trailer = true;
    out.push(name, value);
  }
  if (connection && connection !== 'keep-alive' && connection !== 'close') {
    const tokens = connection.split(',').map((t) => t.trim());
    const kept: string[] = [];
    for (let i = 0; i < out.length; i += 2) if (!tokens.includes(out[i])) kept.push(out[i], out[i + 1]);
    return kept;
  }
  return out;
}

function dropField(list: string[], name: string): void {
  for (let i = list.length - 2; i >= 0; i -= 2) if (list[i] === name) list.splice(i, 2);
}
