// Entries as an Istio sidecar streams them over ALS (envoyHttpAls/envoyTcpAls
// providers): node id `sidecar~IP~POD.NS~NS.svc.cluster.local` with Istio's
// node metadata, clusters `outbound|PORT|SUBSET|FQDN`, the app's own pod IP
// as downstream address (iptables REDIRECT keeps it). A direct call must
// resolve to the same edge the gateway reported for the first call, so the
// dependency stays alive; calls Istio handed to the gateway's Service (the
// Sidecar's egressProxy) are the gateway's to report.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Inventory, parseMesh } from '../../contracts/index.ts';
import { gatewayClusters, httpEntryToRecord, reportingNode, tcpEntryToRecord } from '../../analyzer/sources/als-convert.ts';
import { normalize, isRejection } from '../../analyzer/core/normalize.ts';
import { Resolver } from '../../analyzer/core/resolve.ts';
import { decodeMessage, encodeMessage } from '../../contracts/envoy-proto.ts';
import { MESH, PAGE } from './support/mesh.ts';

const inventory = new Inventory(parseMesh(MESH, 'mesh.yaml'));
const PAGE_IP = '10.244.0.5';
const GATEWAY = 'meshscope-gateway.meshscope.svc.cluster.local';
const isGateway = gatewayClusters([GATEWAY]);

function wire<T>(type: string, value: Record<string, unknown>): T {
  return decodeMessage<T>(type, encodeMessage(type, value));
}

/** The node of an Istio sidecar as pilot-agent's bootstrap writes it (a subset of its metadata). */
const istioNode = wire<Record<string, any>>('envoy.config.core.v3.Node', {
  id: `sidecar~${PAGE_IP}~${PAGE}~default.svc.cluster.local`,
  cluster: 'productpage.default',
  metadata: {
    fields: {
      NAME: { stringValue: 'productpage-v1-abc' },
      NAMESPACE: { stringValue: 'default' },
      CLUSTER_ID: { stringValue: 'Kubernetes' },
      INTERCEPTION_MODE: { stringValue: 'REDIRECT' },
      LABELS: { structValue: { fields: { app: { stringValue: 'productpage' } } } },
    },
  },
});

function httpEntry(cluster: string, authority: string, from = PAGE_IP, flags?: Record<string, boolean>) {
  return wire<Record<string, any>>('envoy.data.accesslog.v3.HTTPAccessLogEntry', {
    common_properties: {
      downstream_remote_address: { socket_address: { address: from, port_value: 51234 } },
      start_time: { seconds: 1_767_607_200 },
      upstream_cluster: cluster,
      ...(flags ? { response_flags: flags } : {}),
    },
    protocol_version: 'HTTP11',
    request: { authority, path: '/', request_method: 'GET', request_id: 'rid-istio' },
    response: { response_code: { value: 200 } },
  });
}

function tcpEntry(cluster: string, from = PAGE_IP) {
  return wire<Record<string, any>>('envoy.data.accesslog.v3.TCPAccessLogEntry', {
    common_properties: { downstream_remote_address: { socket_address: { address: from, port_value: 1 } }, upstream_cluster: cluster },
    connection_properties: { received_bytes: 10, sent_bytes: 20 },
  });
}

/** The edge the analyzer core derives from a record: caller workload → destination service. */
function edge(rec: object | undefined): string {
  assert.ok(rec, 'entry was skipped');
  const n = normalize(rec);
  assert.ok(!isRejection(n), JSON.stringify(n));
  const r = new Resolver(inventory);
  const src = r.source(n);
  const caller = typeof src === 'string' ? src : src.workload?.id ?? src.service.id;
  const dst = r.destination(n, typeof src === 'string' ? 'default' : src.service.namespace);
  return `${caller} -> ${typeof dst === 'string' ? dst : dst.id}`;
}

describe('Istio sidecar ALS entries', () => {
  const node = reportingNode(inventory, istioNode);

  it('resolves an Istio node id with Istio metadata to the pod it runs for', () => {
    assert.equal(node.workload, PAGE);
    const idOnly = reportingNode(inventory, wire('envoy.config.core.v3.Node', { id: `sidecar~${PAGE_IP}~${PAGE}~default.svc.cluster.local` }));
    assert.equal(idOnly.workload, PAGE);
  });

  it('turns a direct HTTP call through outbound|PORT|SUBSET|FQDN into the caller → service edge', () => {
    const direct = (cluster: string, authority: string) => httpEntryToRecord(httpEntry(cluster, authority), node, isGateway);
    assert.equal(edge(direct('outbound|9080|v1|reviews.default.svc.cluster.local', 'reviews:9080')), `${PAGE} -> reviews.default`);
    assert.equal(edge(direct('outbound|9080||details.default.svc.cluster.local', 'details:9080')), `${PAGE} -> details.default`);
  });

  it('names the reporting pod as caller when the downstream address is no pod (TPROXY-less loopback, app on 127.0.0.6)', () => {
    const rec = httpEntryToRecord(httpEntry('outbound|9080||details.default.svc.cluster.local', 'details:9080', '127.0.0.6'), node, isGateway);
    assert.equal(rec?.source, PAGE);
    assert.equal(edge(rec), `${PAGE} -> details.default`);
  });

  it('turns a direct TCP connection through an Istio cluster into the edge', () => {
    assert.equal(edge(tcpEntryToRecord(tcpEntry('outbound|7070||cart.shop.svc.cluster.local'), node, isGateway)), `${PAGE} -> cart.shop`);
  });

  it("skips HTTP and TCP entries through the gateway's Service cluster: the gateway reports those calls", () => {
    assert.equal(httpEntryToRecord(httpEntry(`outbound|80||${GATEWAY}`, 'ratings:9080'), node, isGateway), undefined);
    assert.equal(tcpEntryToRecord(tcpEntry(`outbound|80||${GATEWAY}`), node, isGateway), undefined);
    // Without the gateway's FQDN configured, the TCP entry would read as an edge to the gateway itself.
    assert.equal(edge(tcpEntryToRecord(tcpEntry(`outbound|80||${GATEWAY}`), node)), `${PAGE} -> ${GATEWAY}`);
  });

  it('keeps a gateway entry whose flags say the gateway was never reached', () => {
    const rec = httpEntryToRecord(httpEntry(`outbound|80||${GATEWAY}`, 'ratings:9080', PAGE_IP, { upstream_connection_failure: true }), node, isGateway);
    assert.equal(edge(rec), `${PAGE} -> ratings.default`);
  });

  it('matches only the configured gateway FQDN, not a service whose name ends the same', () => {
    assert.ok(isGateway(`outbound|80||${GATEWAY}`));
    assert.ok(!isGateway(`outbound|80||other-${GATEWAY}`));
    assert.ok(!isGateway('inbound|80||'));
  });
});
