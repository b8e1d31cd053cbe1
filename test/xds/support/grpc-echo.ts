// A tiny gRPC service (JSON messages) for real gRPC servers and clients in tests.
import * as grpc from '@grpc/grpc-js';

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString() || '{}'),
};

export const ECHO = {
  hello: {
    path: '/meshscope.test.Echo/Hello',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
} satisfies grpc.ServiceDefinition;

export const EchoClient = grpc.makeGenericClientConstructor(ECHO, 'Echo');

export interface Greeter {
  name: string;
  address: string;
  port: number;
  server: grpc.Server;
}

/** A gRPC server answering every call with its own name. */
export async function startGreeter(name: string, address: string, port: number): Promise<Greeter> {
  const server = new grpc.Server();
  server.addService(ECHO, { hello: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { server: name }) });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${address}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { name, address, server, port: bound };
}

/** One call; resolves to the name of the server that answered. */
export function hello(client: grpc.Client): Promise<string> {
  return new Promise((resolve, reject) =>
    (client as any).hello({}, { deadline: Date.now() + 5_000 }, (err: Error | null, res: { server: string }) => (err ? reject(err) : resolve(res.server))),
  );
}
