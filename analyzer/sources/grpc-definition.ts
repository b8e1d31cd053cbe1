// Builds a @grpc/grpc-js service definition straight from a protobufjs Root,
// so the ALS server decodes with the same Envoy types the xDS server uses
// (no second proto-loader pass over the Envoy API tree).
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: false, bytes: Buffer };

export function serviceDefinition(root: protobuf.Root, serviceName: string): ServiceDefinition {
  const service = root.lookupService(serviceName);
  const def: Record<string, MethodDefinition<object, object>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const req = method.resolvedRequestType!;
    const res = method.resolvedResponseType!;
    def[method.name] = {
      path: `/${serviceName}/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: (v: object) => Buffer.from(req.encode(req.fromObject(v)).finish()),
      requestDeserialize: (b: Buffer) => req.toObject(req.decode(b), TO_OBJECT),
      responseSerialize: (v: object) => Buffer.from(res.encode(res.fromObject(v)).finish()),
      responseDeserialize: (b: Buffer) => res.toObject(res.decode(b), TO_OBJECT),
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  return def as ServiceDefinition;
}
