// Hand-written encoders for DiscoveryResponse and DeltaDiscoveryResponse.
// Resources arrive already encoded (EncodedResource.any, shared by every
// stream), so a response is just field framing around bytes we framed once:
// each resource's framed bytes are memoised per resource object and concatenated.
import type { EncodedResource } from '../types.ts';

// Field tags, (field number << 3) | wire type 2 (length-delimited).
const TAG = (field: number) => (field << 3) | 2;

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(buf: Buffer, offset: number, n: number): number {
  while (n >= 0x80) {
    buf[offset++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[offset++] = n;
  return offset;
}

/** tag + length + payload for one length-delimited field. */
function field(fieldNo: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + varintLength(payload.length) + payload.length);
  out[0] = TAG(fieldNo);
  payload.copy(out, writeVarint(out, 1, payload.length));
  return out;
}

function stringField(fieldNo: number, value: string): Buffer {
  return field(fieldNo, Buffer.from(value, 'utf8'));
}

function anyBytes(any: EncodedResource['any']): Buffer {
  return Buffer.concat([stringField(1, any.type_url), field(2, any.value)]);
}

// DiscoveryResponse: version_info=1, resources=2 (Any), type_url=4, nonce=5.
const sotwFrames = new WeakMap<EncodedResource['any'], Buffer>();
// DeltaDiscoveryResponse: system_version_info=1, resources=2 (Resource),
// type_url=4, nonce=5, removed_resources=6.
// Resource: version=1, resource=2 (Any), name=3.
const deltaFrames = new WeakMap<EncodedResource, Buffer>();

function sotwFrame(r: EncodedResource): Buffer {
  let framed = sotwFrames.get(r.any);
  if (!framed) sotwFrames.set(r.any, (framed = field(2, anyBytes(r.any))));
  return framed;
}

function deltaFrame(r: EncodedResource): Buffer {
  let framed = deltaFrames.get(r);
  if (!framed) {
    const resource = Buffer.concat([stringField(1, r.version), field(2, anyBytes(r.any)), stringField(3, r.name)]);
    deltaFrames.set(r, (framed = field(2, resource)));
  }
  return framed;
}

export interface SotwResponse {
  versionInfo: string;
  typeUrl: string;
  nonce: string;
  resources: Iterable<EncodedResource>;
}

export function encodeSotwResponse(res: SotwResponse): Buffer {
  const parts = [stringField(1, res.versionInfo)];
  for (const r of res.resources) parts.push(sotwFrame(r));
  parts.push(stringField(4, res.typeUrl), stringField(5, res.nonce));
  return Buffer.concat(parts);
}

export interface DeltaResponse {
  systemVersionInfo: string;
  typeUrl: string;
  nonce: string;
  resources: Iterable<EncodedResource>;
  removed: Iterable<string>;
}

export function encodeDeltaResponse(res: DeltaResponse): Buffer {
  const parts = [stringField(1, res.systemVersionInfo)];
  for (const r of res.resources) parts.push(deltaFrame(r));
  parts.push(stringField(4, res.typeUrl), stringField(5, res.nonce));
  for (const name of res.removed) parts.push(stringField(6, name));
  return Buffer.concat(parts);
}
