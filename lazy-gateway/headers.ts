// Header rules of the proxy: which request headers travel end to end, which
// belong to one hop, and which the gateway itself consumes. One pass over the
// raw headers does the filtering and captures what routing and reporting need.
import type { IncomingHttpHeaders } from 'node:http2';
import { SOURCE_HEADER } from '../contracts/scope.ts';

export const ERROR_HEADER = 'x-meshscope-error';
export const TIMEOUT_HEADER = 'x-envoy-upstream-rq-timeout-ms';

const enum Kind {
  Drop,
  Host,
  Source,
  ServiceCluster,
  PeerId,
  ClientCert,
  Timeout,
  RequestId,
  ForwardedFor,
  ContentType,
  ContentLength,
  TransferEncoding,
  Connection,
  Te,
}

const KINDS = new Map<string, Kind>([
  ['connection', Kind.Connection],
  ['keep-alive', Kind.Drop],
  ['proxy-connection', Kind.Drop],
  ['proxy-authenticate', Kind.Drop],
  ['proxy-authorization', Kind.Drop],
  ['upgrade', Kind.Drop],
  ['http2-settings', Kind.Drop],
  // The gateway answers 100-continue itself; the upstream gets the body without asking.
  ['expect', Kind.Drop],
  ['transfer-encoding', Kind.TransferEncoding],
  ['te', Kind.Te],
  ['host', Kind.Host],
  [SOURCE_HEADER, Kind.Source],
  ['x-envoy-downstream-service-cluster', Kind.ServiceCluster],
  ['x-envoy-peer-metadata-id', Kind.PeerId],
  // What the gateway's own sidecar verified about this hop: consumed here, never passed on.
  ['x-forwarded-client-cert', Kind.ClientCert],
  [TIMEOUT_HEADER, Kind.Timeout],
  ['x-request-id', Kind.RequestId],
  ['x-forwarded-for', Kind.ForwardedFor],
  ['content-type', Kind.ContentType],
  ['content-length', Kind.ContentLength],
]);

/** Response fields that describe one hop only. */
export const RESPONSE_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);

/** A request as the gateway sees it, whichever protocol brought it. */
export class RequestHead {
  method = '';
  /** Origin-form path with query. */
  path = '/';
  /** The destination as spelled by the caller (absolute-form host, :authority or Host). */
  authority = '';
  absoluteForm = false;
  /** End-to-end headers, lowercase names: [name, value, name, value, ...]. */
  headers: string[] = [];
  source = '';
  serviceCluster = '';
  peerId = '';
  /** x-forwarded-client-cert, repeats joined with commas. */
  clientCert = '';
  timeoutMs = -1;
  requestId = '';
  forwardedFor = '';
  contentType = '';
  contentLength = -1;
  /** Whether the caller sent `te: trailers` (gRPC needs it upstream on h2). */
  teTrailers = false;
  connectionTokens = '';
}

function take(head: RequestHead, lower: string, value: string): void {
  const kind = KINDS.get(lower);
  if (kind === undefined) {
    head.headers.push(lower, value);
    return;
  }
  switch (kind) {
    case Kind.Host:
      if (!head.authority) head.authority = value;
      return;
    case Kind.Source:
      head.source = value.trim();
      return;
    case Kind.ServiceCluster:
      head.serviceCluster = value.trim();
      break;
    case Kind.PeerId:
      head.peerId = value.trim();
      break;
    case Kind.ClientCert:
      head.clientCert = head.clientCert ? `${head.clientCert},${value}` : value;
      return;
    case Kind.Timeout: {
      const n = Number(value);
      if (Number.isFinite(n) && n >= 0) head.timeoutMs = n;
      return;
    }
    case Kind.RequestId:
      head.requestId = value;
      break;
    case Kind.ForwardedFor:
      head.forwardedFor = head.forwardedFor ? `${head.forwardedFor}, ${value}` : value;
      return;
    case Kind.ContentType:
      head.contentType = value;
      break;
    case Kind.ContentLength: {
      const n = Number(value);
      head.contentLength = Number.isInteger(n) && n >= 0 ? n : -1;
      break;
    }
    case Kind.TransferEncoding:
      // Framing is the parser's: the body goes upstream framed anew.
      return;
    case Kind.Connection:
      head.connectionTokens = value;
      return;
    case Kind.Te:
      if (value.trim().toLowerCase() === 'trailers') head.teTrailers = true;
      return;
    default:
      return;
  }
  head.headers.push(lower, value);
}

/** Headers named in `Connection` are hop-by-hop too (RFC 9110 §7.6.1). */
function dropConnectionTokens(head: RequestHead): void {
  const tokens = head.connectionTokens.toLowerCase().split(',').map((t) => t.trim()).filter((t) => t && t !== 'close' && t !== 'keep-alive');
  if (tokens.length === 0) return;
  const out: string[] = [];
  for (let i = 0; i < head.headers.length; i += 2) {
    if (!tokens.includes(head.headers[i])) out.push(head.headers[i], head.headers[i + 1]);
  }
  head.headers = out;
}

/** Reads an HTTP/1.1 request head from its fields (lowercase names, as h1-request.ts gives them). */
export function readH1Head(head: RequestHead, method: string, url: string, fields: string[]): RequestHead {
  head.method = method;
  for (let i = 0; i < fields.length; i += 2) take(head, fields[i], fields[i + 1]);
  if (head.connectionTokens) dropConnectionTokens(head);
  if (url.charCodeAt(0) === 47 /* / */) {
    head.path = url;
  } else if (url === '*') {
    head.path = '*';
  } else {
    const scheme = url.indexOf('://');
    if (scheme > 0) {
      // Absolute form: the URL's host wins over Host (RFC 9112 §3.2.2).
      const start = scheme + 3;
      let end = start;
      while (end < url.length && url[end] !== '/' && url[end] !== '?' && url[end] !== '#') end++;
      head.authority = url.slice(start, end);
      head.absoluteForm = true;
      const rest = url.slice(end);
      head.path = rest.startsWith('/') ? rest : `/${rest}`;
    } else {
      head.path = url;
    }
  }
  return head;
}

/** Reads an HTTP/2 request head from a header object. */
export function readH2Head(head: RequestHead, headers: IncomingHttpHeaders): RequestHead {
  head.method = String(headers[':method'] ?? '');
  head.path = String(headers[':path'] ?? '/');
  const authority = headers[':authority'];
  if (authority) head.authority = String(authority);
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* : */) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') take(head, name, value);
    else for (const v of value) take(head, name, v);
  }
  if (head.connectionTokens) dropConnectionTokens(head);
  return head;
}

/** Filters upstream HTTP/2 response headers or trailers into a flat list (pseudo-headers left out). */
export function responseFromObject(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 || RESPONSE_HOP.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v);
  }
  return out;
}

/**
 * Fields node:http2 takes only once: it throws on a repeat, so the first value
 * wins (as RFC 9110 §5.3 leaves a repeated singleton field to the recipient).
 */
const SINGLE_VALUE = new Set([
  'access-control-allow-credentials', 'access-control-max-age', 'access-control-request-method', 'age', 'authorization',
  'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type',
  'date', 'dnt', 'etag', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'tk', 'upgrade-insecure-requests', 'user-agent', 'x-content-type-options',
]);

/** A flat header list as an object for node:http2 (repeated names become arrays; cookies join; singletons keep the first). */
export function toH2Object(list: string[], into: Record<string, string | string[] | number> = {}): Record<string, string | string[] | number> {
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i];
    const prev = into[name];
    if (prev === undefined) into[name] = list[i + 1];
    else if (SINGLE_VALUE.has(name)) continue;
    else if (name === 'cookie') into[name] = `${prev}; ${list[i + 1]}`;
    else if (Array.isArray(prev)) prev.push(list[i + 1]);
    else into[name] = [String(prev), list[i + 1]];
  }
  return into;
}

/** Fields that may never travel as trailers (framing, routing, hop-by-hop). */
export const NOT_TRAILERS = new Set([...RESPONSE_HOP, 'content-length', 'host', 'trailer', 'content-type', 'content-encoding']);

/** Request trailers from raw pairs or a header object, as a flat list fit to forward. */
export function trailersFrom(source: string[] | IncomingHttpHeaders | undefined): string[] | null {
  if (!source) return null;
  const out: string[] = [];
  if (Array.isArray(source)) {
    for (let i = 0; i < source.length; i += 2) {
      const name = source[i].toLowerCase();
      if (!NOT_TRAILERS.has(name)) out.push(name, source[i + 1]);
    }
  } else {
    for (const [name, value] of Object.entries(source)) {
      if (name.startsWith(':') || NOT_TRAILERS.has(name) || value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) out.push(name, String(v));
    }
  }
  return out.length > 0 ? out : null;
}
