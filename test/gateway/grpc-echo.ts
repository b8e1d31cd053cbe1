// A small gRPC service for the gateway tests: JSON messages (no .proto
// needed), unary, server streaming and bidirectional methods, custom
// metadata and a failing case with trailing metadata.
import * as grpc from '@grpc/grpc-js';

export interface Msg {
  text: string;
  n?: number;
}

const json = {
  serialize: (v: Msg) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as Msg,
};

const SERVICE = {
  unary: { path: '/test.Echo/Unary', requestStream: false, responseStream: false },
  list: { path: '/test.Echo/List', requestStream: false, responseStream: true },
  chat: { path: '/test.Echo/Chat', requestStream: true, responseStream: true },
};

export const definition: grpc.ServiceDefinition = Object.fromEntries(
  Object.entries(SERVICE).map(([name, m]) => [
    name,
    {
      ...m,
      originalName: name,
      requestSerialize: json.serialize,
      requestDeserialize: json.deserialize,
      responseSerialize: json.serialize,
      responseDeserialize: json.deserialize,
    },
  ]),
);

export const EchoClient = grpc.makeGenericClientConstructor(definition, 'Echo');

export function echoServer(): grpc.UntypedServiceImplementation {
  return {
    unary: (call: grpc.ServerUnaryCall<Msg, Msg>, callback: grpc.sendUnaryData<Msg>) => {
      if (call.request.text === 'fail') {
        const trailer = new grpc.Metadata();
        trailer.set('x-detail', 'missing-widget');
        callback({ code: grpc.status.NOT_FOUND, details: 'no widget named fail', metadata: trailer });
        return;
      }
      const initial = new grpc.Metadata();
      initial.set('x-server', 'echo');
      call.sendMetadata(initial);
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', 'bye');
      callback(null, { text: `echo:${call.request.text}`, n: Number(call.metadata.get('x-n')[0] ?? 0) }, trailer);
    },
    list: (call: grpc.ServerWritableStream<Msg, Msg>) => {
      const count = call.request.n ?? 0;
      for (let i = 0; i < count; i++) call.write({ text: `item-${i}`, n: i });
      const trailer = new grpc.Metadata();
      trailer.set('x-count', String(count));
      call.end(trailer);
    },
    chat: (call: grpc.ServerDuplexStream<Msg, Msg>) => {
      call.on('data', (m: Msg) => call.write({ text: `re:${m.text}` }));
      call.on('end', () => call.end());
    },
  };
}

