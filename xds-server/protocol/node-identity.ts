// Who is on the other end of a stream, from the node in its first request.
import { status } from '@grpc/grpc-js';
import type { XdsNode } from '../types.ts';
import { ProtocolError } from './errors.ts';

/** `envoy.config.core.v3.Node` as decoded with keepCase (only the fields we read). */
export interface WireNode {
  id?: string;
  cluster?: string;
  metadata?: WireStruct;
  user_agent_name?: string;
}
interface WireStruct {
  fields?: Record<string, WireValue>;
}
// protobufjs supplies google.protobuf.Value from its built-in (camelCase)
// definitions even under keepCase, so both spellings are read.
interface WireValue {
  nullValue?: unknown;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: WireStruct;
  listValue?: { values?: WireValue[] };
  null_value?: unknown;
  number_value?: number;
  string_value?: string;
  bool_value?: boolean;
  struct_value?: WireStruct;
  list_value?: { values?: WireValue[] };
}

export function nodeIdentity(node: WireNode | undefined | null, method: string): XdsNode {
  if (!node || !node.id) {
    throw new ProtocolError(
      status.INVALID_ARGUMENT,
      `the first ${method} request on an ADS stream must carry node.id; ` +
        'set node.id in the Envoy bootstrap (or --service-node), or "node": {"id": ...} in the gRPC xDS bootstrap',
    );
  }
  return {
    id: node.id,
    ...(node.cluster ? { cluster: node.cluster } : {}),
    metadata: structToJs(node.metadata),
    profile: node.user_agent_name === 'envoy' ? 'envoy' : 'grpc',
  };
}

/** google.protobuf.Struct → plain JSON-like object. */
export function structToJs(struct: WireStruct | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) out[key] = valueToJs(value);
  return out;
}

function valueToJs(v: WireValue): unknown {
  const string = v.stringValue ?? v.string_value;
  if (string !== undefined) return string;
  const number = v.numberValue ?? v.number_value;
  if (number !== undefined) return number;
  const bool = v.boolValue ?? v.bool_value;
  if (bool !== undefined) return bool;
  const struct = v.structValue ?? v.struct_value;
  if (struct !== undefined) return structToJs(struct);
  const list = v.listValue ?? v.list_value;
  if (list !== undefined) return (list.values ?? []).map(valueToJs);
  return null;
}
