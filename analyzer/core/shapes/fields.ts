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
  if (v === lastTimeText) return lastTimeMs;
  const t = isoUtc(v) ?? Date.parse(v);
  if (Number.isNaN(t)) throw new BadTime(key, v);
  // Producers write many records per millisecond: the same text again is common.
  lastTimeText = v;
  lastTimeMs = t;
  return t;
}

let lastTimeText = '';
let lastTimeMs = 0;

// Date.parse costs more than the rest of a record's normalization, and almost
// every producer writes `YYYY-MM-DDTHH:MM:SS[.mmm]Z` (toISOString, Envoy):
// those are read here digit by digit, the day's epoch remembered, and every
// other spelling is left to Date.parse. Only plain in-range values are taken,
// so the result is always what Date.parse would give.
let cachedDayKey = -1;
let cachedDayMs = 0;

/** Epoch ms of a plain UTC ISO 8601 time, or undefined to let Date.parse decide. */
export function isoUtc(s: string): number | undefined {
  const n = s.length;
  if (n !== 24 && n !== 20) return undefined;
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || s.charCodeAt(n - 1) !== 90) return undefined;
  if (n === 24 && s.charCodeAt(19) !== 46) return undefined;
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 2);
  const d = digits(s, 8, 2);
  const h = digits(s, 11, 2);
  const mi = digits(s, 14, 2);
  const sec = digits(s, 17, 2);
  const ms = n === 24 ? digits(s, 20, 3) : 0;
  // Two-digit years mean 19xx to Date.UTC, and Date.parse has its own rules past these ranges.
  if ((mo | d | h | mi | sec | ms) < 0 || y < 100 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) return undefined;
  const dayKey = (y * 16 + mo) * 32 + d;
  if (dayKey !== cachedDayKey) {
    cachedDayMs = Date.UTC(y, mo - 1, d);
    cachedDayKey = dayKey;
  }
  return cachedDayMs + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms;
}

/** The decimal number in s[at, at + count), or -1 if any of them is not a digit. */
function digits(s: string, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
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
