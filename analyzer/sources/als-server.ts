// Envoy's gRPC Access Log Service (envoy.service.accesslog.v3): lets any Envoy
// (an egress gateway, a sidecar) stream its access log to the analyzer.
import * as grpc from '@grpc/grpc-js';
import { TrustedPeers, refusedIdentity, type Inventory } from '../../contracts/index.ts';
import { envoyRoot } from '../../contracts/envoy-proto.ts';
import { gatewayClusters, httpEntryToRecord, reportingNode, tcpEntryToRecord } from './als-convert.ts';
import { BatchingIngest } from './batching-ingest.ts';
import { serviceDefinition } from './grpc-definition.ts';
import type { IngestTarget } from './ingest-target.ts';

const SERVICE = 'envoy.service.accesslog.v3.AccessLogService';

export interface AlsServer {
  port: number;
  /** Open StreamAccessLogs calls, by the node id of their first message. */
  streams(): string[];
  /** Log entries received since start. */
  received(): number;
  /** Entries not ingested because another reporter counts them (calls through the lazy gateway). */
  skipped(): number;
  /** Streams refused because their node id contradicts their peer address (see contracts/trusted-peers.ts). */
  refused(): number;
  close(): Promise<void>;
}

export interface AlsOptions {
  target: IngestTarget;
  port?: number;
  host?: string;
  /** The current inventory: entries are attributed to their reporting node's workload (see als-convert.ts). */
  inventory?: () => Inventory;
  /** FQDNs of the lazy gateway's Service when Istio's sidecars stream here (their entries through it are skipped). */
  gatewayHosts?: readonly string[];
  /** Peers whose node ids are believed whatever their address; default loopback. Others must be the workload they name. */
  trusted?: TrustedPeers;
  log?: (msg: string) => void;
}

export async function startAlsServer(opts: AlsOptions): Promise<AlsServer> {
  const log = opts.log ?? (() => {});
  const ingest = new BatchingIngest(opts.target, { onError: (e) => log(`access log service: ingest failed: ${e.message}`) });
  const open = new Map<grpc.ServerReadableStream<any, any>, string>();
  let received = 0;
  let skipped = 0;
  const isGateway = gatewayClusters(opts.gatewayHosts);
  let refused = 0;
  const trusted = opts.trusted ?? new TrustedPeers();
  const server = new grpc.Server();
  server.addService(serviceDefinition(envoyRoot(), SERVICE), {
    StreamAccessLogs: (call: grpc.ServerReadableStream<any, any>, callback: grpc.sendUnaryData<object>) => {
      // The identifier comes only in a stream's first message; later ones carry entries alone.
      let node = '';
      let identity: Record<string, any> | undefined;
      let judged = false;
      let denied = false;
      open.set(call, node);
      call.on('data', (msg: Record<string, any>) => {
        if (denied) return;
        if (msg.identifier) {
          identity = msg.identifier.node;
          node = identity?.id ?? '';
          open.set(call, node);
        }
        // Judged on the first message, which must carry the identifier: entries are believed only from the proxy they name.
        const inventory = opts.inventory?.();
        if (!judged && inventory) {
          judged = true;
          const why = refusedIdentity(inventory, trusted, call.getPeer(), node, reportingNode(inventory, identity).workload);
          if (why) {
            denied = true;
            refused++;
            open.delete(call);
            log(`access log service: refused a stream: ${why}`);
            callback({ code: grpc.status.PERMISSION_DENIED, details: why });
            return;
          }
        }
        const ref = `als:${node || 'unknown-node'}`;
        received += (msg.http_logs?.log_entry?.length ?? 0) + (msg.tcp_logs?.log_entry?.length ?? 0);
        // Resolved per message: mesh.yaml may have changed since the stream began.
        const reporter = reportingNode(opts.inventory?.(), identity);
        for (const e of msg.http_logs?.log_entry ?? []) {
          const r = httpEntryToRecord(e, reporter, isGateway);
          if (r) ingest.push({ value: record(r), ref });
          else skipped++;
        }
        for (const e of msg.tcp_logs?.log_entry ?? []) {
          const r = tcpEntryToRecord(e, reporter, isGateway);
          if (r) ingest.push({ value: record(r), ref });
          else skipped++;
        }
      });
      call.on('end', () => {
        open.delete(call);
        if (!denied) callback(null, {});
      });
      call.on('error', () => open.delete(call));
      call.on('cancelled', () => open.delete(call));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${opts.host ?? '127.0.0.1'}:${opts.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(new Error(`access log service: cannot listen on port ${opts.port ?? 0}: ${err.message}; pass a free --als-port`)) : resolve(p),
    ),
  );
  return {
    port,
    streams: () => [...open.values()],
    received: () => received,
    skipped: () => skipped,
    refused: () => refused,
    close: async () => {
      // Envoy never ends its log stream, so waiting for calls to finish would only delay shutdown;
      // everything received so far is already queued for ingest.
      server.forceShutdown();
      await ingest.close();
    },
  };
}

function record(r: object): Record<string, unknown> {
  return r as Record<string, unknown>;
}
