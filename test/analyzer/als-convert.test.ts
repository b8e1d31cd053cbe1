// Who an Envoy ALS entry names as the caller, and which entries are skipped.
// Entries go through the real protobuf encoding and the decoding the ALS
// server uses, so field names and shapes are what a live Envoy stream yields.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Inventory, parseMesh } from '../../contracts/index.ts';
import { httpEntryToRecord, reportingNode, tcpEntryToRecord } from '../../analyzer/sources/als-convert.ts';
import { GATEWAY_CLUSTER } from '../../xds-server/index.ts';
import { decodeMessage, encodeMessage } from '../../contracts/envoy-proto.ts';
import { MESH, PAGE, LOADGEN } from './support/mesh.ts';

const inventory = new Inventory(parseMesh(MESH, 'mesh.yaml'));
const DETAILS = 'outbound|9080||details.default.svc.cluster.local';
const PAGE_NODE = { id: `sidecar~10.244.0.5~${PAGE}~default.svc.cluster.local` };

function wire<T>(type: string, value: Record<string, unknown>): T {
  return decodeMessage<T>(type, encodeMessage(type, value));
}

function httpEntry(opts: { cluster?: string; from?: string; headers?: Record<string, string>; flags?: Record<string, boolean> }) {
  return wire<Record<string, any>>('envoy.data.accesslog.v3.HTTPAccessLogEntry', {
    common_properties: {
      downstream_remote_address: { socket_address: { address: opts.from ?? '127.0.0.1', port_value: 40000 } },
      start_time: { seconds: 1_767_607_200, nanos: 5_000_000 },
      ...(opts.cluster ? { upstream_cluster: opts.cluster } : {}),
      ...(opts.flags ? { response_flags: opts.flags } : {}),
    },
    protocol_version: 'HTTP11',
    request: { authority: 'details', path: '/details/1', request_method: 'GET', request_id: 'rid-1', request_headers: opts.headers ?? {} },
    response: { response_code: { value: 200 } },
  });
}

/** The node as the ALS server decodes it from a stream's identifier. */
function node(value: Record<string, unknown>) {
  return wire<Record<string, any>>('envoy.config.core.v3.Node', value);
}

describe('ALS entries → records', () => {
  const page = reportingNode(inventory, node(PAGE_NODE));

  it('resolves the reporting node to its workload, by Istio id or by metadata', () => {
    assert.equal(page.workload, PAGE);
    const byMetadata = reportingNode(inventory, node({ id: 'some-proxy', metadata: { fields: { NAME: { stringValue: 'frontend-0' }, NAMESPACE: { stringValue: 'shop' } } } }));
    assert.equal(byMetadata.workload, 'frontend-0.shop');
    assert.equal(reportingNode(inventory, node({ id: 'stranger' })).workload, undefined);
    assert.equal(reportingNode(undefined, node(PAGE_NODE)).workload, undefined, 'no inventory, no attribution');
  });

  it('takes a direct call through an outbound cluster as the reporting workload calling, the app being on loopback', () => {
    const rec = httpEntryToRecord(httpEntry({ cluster: DETAILS, from: '127.0.0.2' }), page)!;
    assert.equal(rec.source, PAGE);
    assert.equal(rec.sourceAddress, '127.0.0.2');
    assert.equal(rec.upstreamCluster, DETAILS);
    assert.equal(rec.requestId, 'rid-1');
    assert.equal(rec.time, '2026-01-05T10:00:00.005Z');
  });

  it('lets a downstream address that names a workload, or a logged source header, say otherwise', () => {
    // 127.0.0.1 is loadgen-0's address in this mesh: the resolver takes it from sourceAddress.
    const byAddress = httpEntryToRecord(httpEntry({ cluster: DETAILS, from: '127.0.0.1' }), page)!;
    assert.equal(byAddress.source, undefined);
    assert.equal(inventory.workloadByAddress(byAddress.sourceAddress!)?.id, LOADGEN);
    const byHeader = httpEntryToRecord(httpEntry({ cluster: DETAILS, from: '127.0.0.2', headers: { 'x-meshscope-source': 'frontend-0.shop' } }), page)!;
    assert.equal(byHeader.source, 'frontend-0.shop');
  });

  it('does not attribute entries that went through no cluster the xDS server names', () => {
    for (const cluster of [undefined, 'inbound|9080||', 'PassthroughCluster']) {
      assert.equal(httpEntryToRecord(httpEntry({ cluster, from: '127.0.0.2' }), page)!.source, undefined, String(cluster));
    }
  });

  it('skips calls sent to the lazy gateway, which reports them itself, unless the gateway was never reached', () => {
    assert.equal(httpEntryToRecord(httpEntry({ cluster: GATEWAY_CLUSTER, from: '127.0.0.2' }), page), undefined);
    const refused = httpEntryToRecord(httpEntry({ cluster: GATEWAY_CLUSTER, from: '127.0.0.2', flags: { upstream_connection_failure: true } }), page)!;
    assert.equal(refused.source, PAGE);
    assert.equal(refused.authority, 'details');
  });

  it('attributes TCP entries the same way', () => {
    const entry = wire<Record<string, any>>('envoy.data.accesslog.v3.TCPAccessLogEntry', {
      common_properties: { downstream_remote_address: { socket_address: { address: '127.0.0.2', port_value: 1 } }, upstream_cluster: DETAILS },
      connection_properties: { received_bytes: 4, sent_bytes: 4 },
    });
    const rec = tcpEntryToRecord(entry, page)!;
    assert.deepEqual([rec.source, rec.protocol, rec.bytesReceived], [PAGE, 'tcp', 4]);
  });
});
