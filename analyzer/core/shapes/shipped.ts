// Shape 3: a record as a log shipper delivers it. Fluent Bit merges the fields
// at top level and adds `kubernetes.pod_name` / `kubernetes.namespace_name`;
// Vector keeps the line as a JSON string in `message` (or `log`) and adds
// `kubernetes.pod_name` / `kubernetes.pod_namespace`.
import type { Rejection } from '../types.ts';
import { isObject, preview, type Obj } from './fields.ts';

/** The shipper's pod as `POD.NS`, from nested or flattened Kubernetes metadata. */
export function podOf(o: Obj): string | undefined {
  const k = o.kubernetes;
  let name: unknown;
  let ns: unknown;
  if (isObject(k)) {
    name = k.pod_name;
    ns = k.namespace_name ?? k.pod_namespace;
  }
  name ??= o['kubernetes.pod_name'];
  ns ??= o['kubernetes.namespace_name'] ?? o['kubernetes.pod_namespace'];
  return typeof name === 'string' && typeof ns === 'string' && name !== '' && ns !== '' ? `${name}.${ns}` : undefined;
}

/** The record a shipper wrapped in `message` or `log`; undefined when there is none. */
export function unwrap(o: Obj): { record: Obj } | { rejection: Rejection } | undefined {
  for (const key of ['message', 'log']) {
    const v = o[key];
    if (isObject(v)) return { record: v };
    if (typeof v !== 'string') continue;
    if (!v.trimStart().startsWith('{')) {
      return { rejection: { reason: 'not-access-log', detail: `field "${key}" holds plain text, not a JSON access log: ${preview(v)}` } };
    }
    let inner: unknown;
    try {
      inner = JSON.parse(v);
    } catch (err) {
      return { rejection: { reason: 'not-json', detail: `field "${key}" is not valid JSON: ${(err as Error).message}` } };
    }
    if (isObject(inner)) return { record: inner };
    return { rejection: { reason: 'not-object', detail: `field "${key}" holds JSON that is not an object` } };
  }
  return undefined;
}
