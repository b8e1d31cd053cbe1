// What the analyzer and its xDS server do, as structured log lines (pino, the
// logger fastify uses): proxies connecting and going, edges learnt and
// expired, scope pushes delivered, and every NACK with the proxy's message.
// It only listens to events the components already emit.
import pino, { type Logger } from 'pino';
import type { XdsServer } from '../xds-server/index.ts';
import type { Analyzer, EdgeView } from './index.ts';

export type { Logger };

/** JSON lines on stderr (stdout carries the command's own output), written synchronously so a crash loses none. */
export function createLogger(level: string = 'info'): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
}

const short = (typeUrl: string) => typeUrl.slice(typeUrl.lastIndexOf('.') + 1);

/** Subscribes `log` to the events; returns the unsubscribe. */
export function logActivity(analyzer: Analyzer, xds: XdsServer, log: Logger): () => void {
  const edge = (e: EdgeView) => ({ kind: e.kind, source: e.source, dest: e.dest, protocols: e.protocols, count: e.count });
  const onEdge = (e: EdgeView) => log.info({ event: 'edge-learnt', ...edge(e), firstSeen: e.firstSeen }, `edge learnt: ${e.source} → ${e.dest}`);
  const onExpired = (e: EdgeView) => log.info({ event: 'edge-expired', ...edge(e), lastSeen: e.lastSeen }, `edge expired: ${e.source} → ${e.dest} (unseen since ${e.lastSeen})`);
  analyzer.on('edge', onEdge);
  analyzer.on('expired', onExpired);
  const offs = [
    () => analyzer.off('edge', onEdge),
    () => analyzer.off('expired', onExpired),
    xds.onStream((s) => {
      const flavour = /delta/i.test(s.method) ? 'delta' : 'sotw';
      const who = s.workload ?? s.nodeId;
      log.info({ event: s.opened ? 'proxy-connected' : 'proxy-disconnected', nodeId: s.nodeId, workload: s.workload, ads: flavour }, `proxy ${s.opened ? 'connected' : 'disconnected'}: ${who} (${flavour} ADS)`);
    }),
    xds.onPush((p) => {
      if (p.responses.length === 0 || p.responses.some((r) => !r.ack)) return; // NACKs are logged as answers
      const ms = Math.round((p.answeredAt - p.changedAt) * 10) / 10;
      const types = p.types.map(short);
      log.info({ event: 'push-acked', cause: p.cause, workload: p.workload, nodeId: p.nodeId, types, ms }, `${p.cause} push ACKed by ${p.workload ?? p.nodeId} in ${ms} ms (${types.join(', ')})`);
    }),
    xds.onAnswer((a) => {
      if (a.ack) return;
      log.warn(
        { event: 'nack', workload: a.workload, nodeId: a.nodeId, type: short(a.typeUrl), version: a.version, message: a.message },
        `NACK from ${a.workload ?? a.nodeId} for ${short(a.typeUrl)} version ${a.version}: ${a.message ?? '(no message)'}`,
      );
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}
