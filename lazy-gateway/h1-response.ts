// A strict, incremental HTTP/1.1 response parser for upstream connections:
// status line and fields, then the body as framed by h1-message.ts. Anything
// ambiguous is an error rather than a guess, so a confused upstream cannot
// desynchronize a pooled connection.
import { fieldName, fieldValue, MessageParser, State, type BodyEvents } from './h1-message.ts';
import { RESPONSE_HOP } from './headers.ts';

export interface ResponseEvents extends BodyEvents {
  head(status: number, headers: string[], trailers: boolean): void;
}

const STATUS_LINE = /^HTTP\/1\.[01] [1-9]\d\d(?:$| [\t\x20-\x7e\x80-\xff]*$)/;

export class ResponseError extends Error {
  readonly code = 'ERR_UPSTREAM_PROTOCOL';
}

export class ResponseParser extends MessageParser {
  private noBody = false;
  /** Whether the connection may carry another request once this response is done. */
  keepAlive = true;
  /** Keep-Alive: timeout=N from the upstream, in ms (0 when it sent none). */
  keepAliveMs = 0;

  constructor(
    protected override readonly events: ResponseEvents,
    maxHeaderBytes: number,
  ) {
    super(events, maxHeaderBytes);
  }

  /** Prepares for the response to a new request. */
  expect(method: string): void {
    this.state = State.Head;
    this.pending = null;
    this.noBody = method === 'HEAD';
    this.keepAlive = true;
    this.started = false;
  }

  protected fail(message: string): Error {
    return new ResponseError(`upstream response: ${message}`);
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

  protected finish(data: Buffer, at: number, trailers: string[] | null): boolean {
    this.state = State.Done;
    if (at < data.length) {
      // Bytes beyond the response: the upstream is out of step; never reuse it.
      this.keepAlive = false;
    }
    this.events.done(trailers);
    return true;
  }

  protected onHead(head: string): void {
    const lines = head.split('\r\n');
    const statusLine = lines[0];
    // RFC 9112 §4: HTTP/1.x, three digits, then an optional reason of visible characters, spaces and tabs.
    if (!STATUS_LINE.test(statusLine)) throw new ResponseError(`bad upstream status line ${JSON.stringify(statusLine.slice(0, 40))}`);
    const http10 = statusLine.charCodeAt(7) === 48;
    const status = Number(statusLine.slice(9, 12));
    const framing: Framing = { length: -1, chunked: false, close: http10, keepAliveMs: 0, trailer: false };
    const headers = parseFields(lines, 1, framing);
    if (status < 200) {
      // 1xx interim responses: the caller got its 100-continue from the gateway already.
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

/** Parses `name: value` lines into a flat list, dropping hop-by-hop fields; `framing` collects what frames the body. */
function parseFields(lines: string[], from: number, framing: Framing): string[] {
  const out: string[] = [];
  let connection = '';
  for (let i = from; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ResponseError(`bad upstream header line ${JSON.stringify(line.slice(0, 40))}`);
    const name = fieldName(line.slice(0, colon));
    if (name === undefined) throw new ResponseError(`bad upstream header name ${JSON.stringify(line.slice(0, 40))}`);
    const value = fieldValue(line, colon + 1);
    if (RESPONSE_HOP.has(name)) {
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
      continue;
    }
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) throw new ResponseError(`bad upstream content-length ${JSON.stringify(value)}`);
      const n = Number(value);
      if (framing.length !== -1 && framing.length !== n) throw new ResponseError('conflicting upstream content-length headers');
      framing.length = n;
    }
    if (name === 'trailer') framing.trailer = true;
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
