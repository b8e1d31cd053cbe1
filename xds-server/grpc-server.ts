// The ADS gRPC endpoint: binds AggregatedDiscoveryService (SotW and delta) on
// @grpc/grpc-js and hands each stream to its protocol state machine.
import * as grpc from '@grpc/grpc-js';
import type { XdsCache } from './types.ts';
import { adsServiceDefinition } from './protocol/ads-service.ts';
import { DeltaStream } from './protocol/delta-stream.ts';
import type { ProtocolEvents } from './protocol/events.ts';
import { SotwStream } from './protocol/sotw-stream.ts';
import { NodeStatusRegistry } from './protocol/status.ts';
import type { AdsStream, StreamDeps, StreamSink } from './protocol/stream-core.ts';

export interface XdsGrpcServerOptions {
  cache: XdsCache;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  status?: NodeStatusRegistry;
  /** One line per noteworthy event (NACKs, refused streams, faults). */
  log?: (line: string) => void;
  /** Where streams report answers and delivered changes. */
  events?: ProtocolEvents;
  /** Judges each stream's node against its peer address (see StreamDeps.admit). */
  admit?: StreamDeps['admit'];
}

export interface XdsGrpcServer {
  /** The bound port. */
  port: number;
  status: NodeStatusRegistry;
  /** Ends every open stream with UNAVAILABLE and stops listening. */
  close(): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 2000;

export async function startXdsGrpcServer(options: XdsGrpcServerOptions): Promise<XdsGrpcServer> {
  const host = options.host ?? '127.0.0.1';
  const status = options.status ?? new NodeStatusRegistry();
  const deps: StreamDeps = { cache: options.cache, status, log: options.log ?? (() => {}), events: options.events, admit: options.admit };
  /** Open streams and how to end each with a status. */
  const open = new Map<AdsStream<unknown>, StreamSink['fail']>();
  const server = new grpc.Server({
    // Large state-of-the-world responses (thousands of clusters) must not be capped.
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  });

  const serve = (make: (sink: StreamSink) => AdsStream<unknown>) =>
    (call: grpc.ServerDuplexStream<unknown, Buffer>) => {
      let ended = false;
      const fail: StreamSink['fail'] = (code, details) => {
        if (ended) return;
        ended = true;
        call.emit('error', { code, details });
      };
      const stream = make({
        peer: call.getPeer(),
        send: (bytes) => {
          if (!ended) call.write(bytes);
        },
        fail,
      });
      open.set(stream as AdsStream<unknown>, fail);
      const finish = () => {
        open.delete(stream as AdsStream<unknown>);
        stream.close();
      };
      call.on('data', (req) => stream.receive(req));
      call.on('end', () => {
        // The client half-closed: it wants no more; end our side too.
        finish();
        if (!ended) {
          ended = true;
          call.end();
        }
      });
      call.on('cancelled', finish);
      call.on('close', finish);
      call.on('error', (err) => {
        // Our own fail() emits 'error' to set the status; only foreign errors are news.
        if (!ended) deps.log(`xds: ${call.getPath()} stream error: ${(err as Error).message}`);
        ended = true;
        finish();
      });
    };

  server.addService(adsServiceDefinition(), {
    StreamAggregatedResources: serve((sink) => new SotwStream(deps, sink, 'StreamAggregatedResources')),
    DeltaAggregatedResources: serve((sink) => new DeltaStream(deps, sink, 'DeltaAggregatedResources')),
  });

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(new Error(`xds server cannot listen on ${host}:${options.port}: ${err.message}; choose another --xds-port`)) : resolve(bound),
    ),
  );

  let closing: Promise<void> | undefined;
  return {
    port,
    status,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        for (const [stream, fail] of [...open]) {
          open.delete(stream);
          stream.close();
          fail(grpc.status.UNAVAILABLE, 'meshscope xds server is shutting down');
        }
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      })),
  };
}
