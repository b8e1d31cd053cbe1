// Differential oracle for the HTTP/1.1 request parser: feeds the same bytes to
// lazy-gateway/h1-request.ts and to Node's llhttp (the parser node:http's
// server runs, strict flags) and says where they read them differently. The
// safety property of a proxy: whatever the gateway accepts, llhttp reads the
// same way (same messages, same bodies, same keep-alive) — the gateway may
// refuse more, never less, except where RFC 9110/9112 allow it (extension
// methods, a tab as optional whitespace).
import { RequestError, RequestParser, type ParsedRequest, type RequestEvents } from '../../lazy-gateway/h1-request.ts';

export interface Message {
  method: string;
  target: string;
  http10: boolean;
  keepAlive: boolean;
  /** Lowercase names, values without surrounding spaces and tabs. */
  fields: string[];
  body: string;
}

export interface Reading {
  messages: Message[];
  /** Why the parser refused the input; undefined when it did not. */
  error?: string;
  /** llhttp only: a message asked to switch protocols, so what follows is not HTTP. */
  upgrade?: boolean;
}

const MAX_HEADER_BYTES = 64 * 1024;

function ows(v: string): string {
  return v.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** The gateway's parser, fed `pieces` one read at a time; pipelined requests are taken as soon as the last one is done. */
export function gatewayReading(pieces: Buffer[]): Reading {
  const messages: Message[] = [];
  let current: Message | undefined;
  const events: RequestEvents = {
    head(r: ParsedRequest) {
      const fields: string[] = [];
      for (let i = 0; i < r.fields.length; i += 2) fields.push(r.fields[i], ows(r.fields[i + 1]));
      current = { method: r.method, target: r.target, http10: r.http10, keepAlive: r.keepAlive, fields, body: '' };
    },
    body(chunk: Buffer) {
      current!.body += chunk.toString('latin1');
      return true;
    },
    done() {
      messages.push(current!);
      current = undefined;
    },
  };
  const parser = new RequestParser(events, MAX_HEADER_BYTES);
  parser.next();
  let started = 0;
  try {
    for (const piece of pieces) {
      parser.feed(piece);
      while (started < messages.length) {
        started++;
        parser.next();
      }
    }
  } catch (err) {
    // Anything but a RequestError is a crash: let it fail the test as such.
    if (!(err instanceof RequestError)) throw err;
    return { messages, error: `${err.status} ${err.message}` };
  }
  return { messages };
}

interface LlhttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | (Error & { code?: string; reason?: string});
  [callback: number]: unknown;
}
interface HttpParserBinding {
  HTTPParser: { new (): LlhttpParser; REQUEST: number; kOnHeaders: number; kOnHeadersComplete: number; kOnBody: number; kOnMessageComplete: number; kOnExecute: number; kLenientNone: number };
  methods: string[];
}

let binding: HttpParserBinding | undefined;
/** Node's own llhttp binding: the exact parser and flags node:http's server uses (no --insecure-http-parser). */
function llhttpBinding(): HttpParserBinding {
  if (!binding) {
    const warned = process.noDeprecation;
    process.noDeprecation = true; // process.binding is deprecated; it is still what gives llhttp's verdict unfiltered
    try {
      binding = (process as unknown as { binding(name: string): HttpParserBinding }).binding('http_parser');
    } finally {
      process.noDeprecation = warned;
    }
  }
  return binding;
}

export function llhttpMethods(): readonly string[] {
  return llhttpBinding().methods;
}

export function llhttpReading(input: Buffer): Reading {
  const { HTTPParser, methods } = llhttpBinding();
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.REQUEST, {}, MAX_HEADER_BYTES, HTTPParser.kLenientNone);
  const messages: Message[] = [];
  let current: Message | undefined;
  let upgrade = false;
  // Long heads arrive in parts (kOnHeaders) before kOnHeadersComplete.
  let partHeaders: string[] = [];
  let partUrl = '';
  parser[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
    partHeaders.push(...headers);
    partUrl += url ?? '';
  };
  parser[HTTPParser.kOnHeadersComplete] = (major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined, _s: unknown, _m: unknown, up: boolean, keepAlive: boolean) => {
    const all = [...partHeaders, ...(headers ?? [])];
    const fields: string[] = [];
    for (let i = 0; i < all.length; i += 2) fields.push(all[i].toLowerCase(), ows(all[i + 1]));
    current = { method: methods[method], target: partUrl + (url ?? ''), http10: major === 1 && minor === 0, keepAlive, fields, body: '' };
    partHeaders = [];
    partUrl = '';
    if (up) upgrade = true;
    return 0;
  };
  parser[HTTPParser.kOnBody] = (chunk: Buffer) => {
    current!.body += chunk.toString('latin1');
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    messages.push(current!);
    current = undefined;
    // Trailers came through kOnHeaders: they belong to this message, not the next one's head.
    partHeaders = [];
    partUrl = '';
  };
  parser[HTTPParser.kOnExecute] = () => undefined;
  const r = parser.execute(input);
  if (upgrade) return { messages, upgrade };
  if (typeof r !== 'number') return { messages, error: `${r.code} ${r.reason ?? r.message}`};
  return { messages };
}

/** The same messages, in order (the first `n` of each). */
function sameMessages(a: Message[], b: Message[], n: number): string | undefined {
  for (let i = 0; i < n; i++) {
    const x = JSON.stringify(a[i]);
    // Closing where llhttp would keep the connection is the safe side (say, `Connection: close<TAB>`).
    const y = JSON.stringify(a[i].keepAlive ? b[i] : { ...b[i], keepAlive: false });
    if (x !== y) return `message ${i}: gateway ${x} vs llhttp ${y}`;
  }
  return undefined;
}

/**
 * Where the gateway and llhttp disagree on `input` in a way that matters, or
 * undefined. `splits` are read boundaries: the gateway must read the input the
 * same however it arrives.
 */
export function disagreement(input: Buffer, splits: number[]): string | undefined {
  const whole = gatewayReading([input]);
  const pieces: Buffer[] = [];
  let at = 0;
  for (const s of [...splits].sort((x, y) => x - y)) {
    if (s <= at || s >= input.length) continue;
    pieces.push(input.subarray(at, s));
    at = s;
  }
  pieces.push(input.subarray(at));
  const split = gatewayReading(pieces);
  if (JSON.stringify(split.messages) !== JSON.stringify(whole.messages) || (split.error === undefined) !== (whole.error === undefined)) {
    return `the gateway reads it differently when split at ${splits.join(',')}: ${JSON.stringify(split)} vs ${JSON.stringify(whole)}`;
  }
  const theirs = llhttpReading(input);
  // The connection ends after a message that is not keep-alive; what follows is never read (llhttp refuses it).
  let ours = whole.messages;
  let oursError = whole.error;
  let theirsError = theirs.error;
  const last = ours.findIndex((m) => !m.keepAlive);
  if (last !== -1) {
    ours = ours.slice(0, last + 1);
    oursError = undefined;
    if (theirs.messages.length > last) theirsError = undefined;
  }
  let theirsMessages = theirs.messages.slice(0, last === -1 ? undefined : last + 1);
  if (theirs.upgrade) {
    // llhttp hands the connection over after an upgrade request: compare up to it.
    const n = Math.min(ours.length, theirsMessages.length);
    return sameMessages(ours, theirsMessages, n);
  }
  if (oursError !== undefined) {
    // Stricter is fine; what both read before the refusal must still agree.
    return sameMessages(ours, theirsMessages, Math.min(ours.length, theirsMessages.length));
  }
  if (theirsError !== undefined) {
    if (permitted(ours, input)) return undefined;
    if (refusesOnceSent(input, ours.length)) return undefined;
    return `llhttp refuses it (${theirsError}) after ${theirs.messages.length} message(s); the gateway accepts ${ours.length} and waits for more`;
  }
  theirsMessages = theirsMessages.slice(0, Math.max(ours.length, theirsMessages.length));
  if (ours.length !== theirsMessages.length) {
    // One of them still waits for a message's end the other has seen.
    return `the gateway completes ${ours.length} message(s), llhttp ${theirsMessages.length}: ${JSON.stringify(ours)} vs ${JSON.stringify(theirsMessages)}`;
  }
  return sameMessages(ours, theirsMessages, ours.length);
}

/**
 * llhttp judges byte by byte; the gateway judges a head, chunk line or trailer
 * block once its end arrives. Waiting is fine while the caller cannot think it
 * is done — no LF has come that is not part of a CRLF (a bare LF is refused at
 * once) — provided the gateway refuses as soon as the end arrives.
 */
function refusesOnceSent(input: Buffer, completed: number): boolean {
  // Where the message still arriving starts: the shortest prefix the gateway completes as many messages in.
  let lo = 0;
  let hi = input.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (gatewayReading([input.subarray(0, mid)]).messages.length >= completed) hi = mid;
    else lo = mid + 1;
  }
  const tail = input.subarray(lo);
  for (let i = 0; i < tail.length; i++) if (tail[i] === 10 && (i === 0 || tail[i - 1] !== 13)) return false;
  return gatewayReading([input, Buffer.from('\r\n\r\n')]).error !== undefined;
}

/** What RFC 9110/9112 allow and llhttp refuses: extension methods, a tab as optional whitespace. */
function permitted(ours: Message[], input: Buffer): boolean {
  const known = new Set(llhttpMethods());
  if (ours.some((m) => !known.has(m.method))) return true;
  // A request line still arriving names its method too.
  for (const m of input.toString('latin1').matchAll(/(?:^|\n)([!#$%&'*+.^_`|~0-9A-Za-z-]+) /g)) if (!known.has(m[1])) return true;
  return input.includes(9);
}
