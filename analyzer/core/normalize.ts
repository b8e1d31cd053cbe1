// One normalizer for every shape of fixture-format.md, in any mix: a raw line
// or a decoded object in, a NormalizedRecord or the reason it is unusable out.
import type { NormalizedRecord, Rejection } from './types.ts';
import { fromEnvoy, hasEnvoyKey } from './shapes/envoy.ts';
import { BadTime, WrongType, isObject, type Obj } from './shapes/fields.ts';
import { fromNative, hasNativeKey } from './shapes/native.ts';
import { podOf, unwrap } from './shapes/shipped.ts';

/** Lines longer than this are rejected unparsed: no access log is that long, and parsing it would stall ingest. */
export const DEFAULT_MAX_LINE = 1 << 20;

const BOM = 0xfeff;

export function normalize(value: unknown, maxLine = DEFAULT_MAX_LINE): NormalizedRecord | Rejection {
  let obj = value;
  if (typeof value === 'string') {
    if (value.length > maxLine) return { reason: 'too-large', detail: `line of ${value.length} characters is over the ${maxLine} limit` };
    // Editors on Windows start files with a byte-order mark, which JSON.parse refuses.
    const text = value.charCodeAt(0) === BOM ? value.slice(1) : value;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      return { reason: 'not-json', detail: (err as Error).message };
    }
  }
  if (!isObject(obj)) return { reason: 'not-object', detail: `a JSON ${jsonKind(obj)} where an access-log object was expected` };
  try {
    return fromObject(obj);
  } catch (err) {
    if (err instanceof WrongType) return { reason: 'wrong-type', detail: err.message };
    if (err instanceof BadTime) return { reason: 'bad-time', detail: err.message };
    throw err;
  }
}

export function isRejection(r: NormalizedRecord | Rejection): r is Rejection {
  return (r as Rejection).reason !== undefined;
}

function fromObject(outer: Obj): NormalizedRecord | Rejection {
  let o = outer;
  let pod = podOf(outer);
  // A shipper's own `time` (Fluent Bit's CRI parser adds one) must not hide
  // the record it wraps in `log`, so a wrapper is looked for before weak keys.
  let shape = shapeOf(o, false);
  if (shape === undefined) {
    const inner = unwrap(outer);
    if (inner !== undefined && 'rejection' in inner) return inner.rejection;
    if (inner !== undefined) {
      o = inner.record;
      pod ??= podOf(o);
    }
    shape = shapeOf(o, true);
    if (shape === undefined) {
      const what = inner === undefined ? 'none of the fields of a native, Envoy, Fluent Bit or Vector record' : 'the wrapped record has none of the fields of an access log';
      return { reason: 'not-access-log', detail: what };
    }
  }
  const rec = shape === 'envoy' ? fromEnvoy(o, pod) : fromNative(o, pod);
  if (rec.source === undefined && rec.sourceAddress === undefined && (rec.pod === undefined || rec.inbound)) {
    return { reason: 'no-source', detail: 'no source, x-meshscope-source, caller address or shipper pod' };
  }
  if (rec.clusterHost === undefined && rec.authority === undefined && rec.sni === undefined && rec.upstreamHost === undefined) {
    return { reason: 'no-destination', detail: 'no outbound upstream cluster, authority, server name or upstream host' };
  }
  return rec;
}

function shapeOf(o: Obj, weak: boolean): 'envoy' | 'native' | undefined {
  if (hasEnvoyKey(o)) return 'envoy';
  if (hasNativeKey(o, weak)) return 'native';
  return undefined;
}

function jsonKind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}
