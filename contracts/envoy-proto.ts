// The Envoy API is a contract with the proxies: the xDS server speaks its
// discovery service and the analyzer its Access Log Service. The protos come
// from @grpc/grpc-js-xds and load once per process into one protobufjs Root,
// so every component encodes and decodes with the same types.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const depsDir = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const protoLoaderDir = dirname(require.resolve('@grpc/proto-loader/package.json'));
const INCLUDE_DIRS = [
  join(depsDir, 'envoy-api'),
  join(depsDir, 'xds'),
  join(depsDir, 'googleapis'),
  join(depsDir, 'protoc-gen-validate'),
  join(dirname(require.resolve('protobufjs/package.json'))),
  join(protoLoaderDir, 'build', 'proto'),
];

const FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/accesslog/v3/als.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/access_loggers/grpc/v3/als.proto',
];

let root: protobuf.Root | undefined;

export function envoyRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (origin, target) => {
    for (const dir of INCLUDE_DIRS) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return protobuf.util.path.resolve(origin, target);
  };
  r.loadSync(FILES, { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

export function messageType(fullName: string): protobuf.Type {
  return envoyRoot().lookupType(fullName);
}

/** Encodes a plain object (snake_case keys, as in the .proto) into a message's bytes. */
export function encodeMessage(fullName: string, value: Record<string, unknown>): Buffer {
  const type = messageType(fullName);
  return Buffer.from(type.encode(type.fromObject(value)).finish());
}

export function decodeMessage<T = Record<string, unknown>>(fullName: string, bytes: Uint8Array): T {
  const type = messageType(fullName);
  return type.toObject(type.decode(bytes), { longs: Number, enums: String, defaults: false, bytes: Buffer }) as T;
}

export const TYPE_PREFIX = 'type.googleapis.com/';

/** `google.protobuf.Any` of an already-encoded message. */
export function anyOf(fullName: string, value: Buffer): { type_url: string; value: Buffer } {
  return { type_url: TYPE_PREFIX + fullName, value };
}
