// The AggregatedDiscoveryService as a grpc-js service definition, built from
// the one protobufjs Root (contracts/envoy-proto.ts) instead of a second proto load.
// Responses leave the server pre-encoded (wire.ts); the response serializer
// passes those bytes through and encodes plain objects only for other users
// (a test server). Clients decode responses with the same protobufjs types.
import type { ServiceDefinition } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { messageType } from '../../contracts/envoy-proto.ts';
import type { WireNode } from './node-identity.ts';

export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export const SOTW_PATH = `/${ADS_SERVICE}/StreamAggregatedResources`;
export const DELTA_PATH = `/${ADS_SERVICE}/DeltaAggregatedResources`;

/** google.rpc.Status as a client sends it in error_detail on a NACK. */
export interface WireStatus {
  code?: number;
  message?: string;
}

/** envoy.service.discovery.v3.DiscoveryRequest, decoded with keepCase. */
export interface DiscoveryRequest {
  version_info?: string;
  node?: WireNode;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: WireStatus;
}

/** envoy.service.discovery.v3.DeltaDiscoveryRequest, decoded with keepCase. */
export interface DeltaDiscoveryRequest {
  node?: WireNode;
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: WireStatus;
}

const DECODE: protobuf.IConversionOptions = { enums: String, longs: Number, bytes: Buffer, defaults: false, arrays: true };

function codec(type: protobuf.Type) {
  return {
    serialize: (value: unknown): Buffer =>
      Buffer.isBuffer(value) ? value : Buffer.from(type.encode(type.fromObject(value as object)).finish()),
    deserialize: (bytes: Buffer): unknown => type.toObject(type.decode(bytes), DECODE),
  };
}

function method(path: string, originalName: string, request: string, response: string) {
  const req = codec(messageType(request));
  const res = codec(messageType(response));
  return {
    path,
    originalName,
    requestStream: true,
    responseStream: true,
    requestSerialize: req.serialize,
    requestDeserialize: req.deserialize,
    responseSerialize: res.serialize,
    responseDeserialize: res.deserialize,
  };
}

let definition: ServiceDefinition | undefined;

export function adsServiceDefinition(): ServiceDefinition {
  definition ??= {
    StreamAggregatedResources: method(
      SOTW_PATH,
      'streamAggregatedResources',
      'envoy.service.discovery.v3.DiscoveryRequest',
      'envoy.service.discovery.v3.DiscoveryResponse',
    ),
    DeltaAggregatedResources: method(
      DELTA_PATH,
      'deltaAggregatedResources',
      'envoy.service.discovery.v3.DeltaDiscoveryRequest',
      'envoy.service.discovery.v3.DeltaDiscoveryResponse',
    ),
  };
  return definition;
}
