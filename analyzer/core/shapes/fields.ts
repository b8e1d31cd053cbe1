// Field readers shared by the shapes. Logs come from many encoders: numbers
// may be strings, and Envoy writes "-" (and shippers null) for "absent".
import { splitHostPort } from '../../../contracts/index.ts';

export type Obj = Record<string, unknown>;

/** A field holding the wrong JSON type; the record is rejected as `wrong-type`. */
export class WrongType extends Error {
  constructor(readonly field: string, expected: string, got: unknown) {
    super(`field "${field}" must be ${expected}, got ${preview(got)}`);
  }
}

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function absent(v: unknown): boolean {
  return v === undefined || v === null || v === '-' || v === '';
}

export function str(o: Obj, key: string): string | undefined {
  const v = o[key];
  if (absent(v)) return undefined;
  if (typeof v !== 'string') throw new WrongType(key, 'a string', v);
  return v;
}

export function num(o: Obj, key: string): number | undefined {
  const v = o[key];
  if (absent(v)) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
  }
  throw new WrongType(key, 'a number', v);
}

/** An ISO 8601 string or epoch milliseconds. */
export function time(o: Obj, key: string): number | undefined {
  const v = o[key];
  if (absent(v)) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v !== 'string') throw new WrongType(key, 'an ISO 8601 time', v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new BadTime(key, v);
  return t;
}

export class BadTime extends Error {
  constructor(field: string, got: string) {
    super(`field "${field}" is not an ISO 8601 time: ${preview(got)}`);
  }
}

/** `10.0.0.1:43210`, `[::1]:80` or a bare IP → the IP. */
export function ipOf(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const colon = address.indexOf(':');
  // The common IPv4 `a.b.c.d:port` without allocating; IPv6 and the rest go the long way.
  if (colon > 0 && address.indexOf(':', colon + 1) === -1) return address.slice(0, colon);
  const host = splitHostPort(address).host;
  return host === '' ? undefined : host;
}

const PROTOCOLS: Record<string, string> = {
  http: 'http', 'http/1.0': 'http', 'http/1.1': 'http', http11: 'http', http10: 'http',
  http2: 'http2', 'http/2': 'http2', h2: 'http2', h2c: 'http2',
  http3: 'http3', 'http/3': 'http3', grpc: 'grpc', tcp: 'tcp',
};

export function protocolName(p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  return PROTOCOLS[p.toLowerCase()] ?? 'other';
}

export function preview(v: unknown, max = 80): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
