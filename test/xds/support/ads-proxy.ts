// A sidecar spoken by hand over a real grpc-js ADS stream: it holds CDS
// (wildcard) and the outbound/inbound routes, so a test decides exactly when
// each response is ACKed or NACKed.
import { CDS, RDS, SotwClient, type SotwResponse } from '../../xds-protocol/helpers.ts';

export { CDS, RDS };
export const nodeIdOf = (workload: string, ip = '10.0.1.1') => `sidecar~${ip}~${workload}~${workload.slice(workload.lastIndexOf('.') + 1)}.svc.cluster.local`;

/** Connects as `workload`, subscribes and ACKs the first CDS and RDS responses. */
export async function connectProxy(port: number, workload: string): Promise<SotwClient> {
  const c = new SotwClient(port, nodeIdOf(workload));
  try {
    c.request(CDS);
    c.ack(await expectType(c, CDS));
    c.request(RDS, ['outbound', 'inbound']);
    c.ack(await expectType(c, RDS), ['outbound', 'inbound']);
    return c;
  } catch (err) {
    c.close();
    throw err;
  }
}

/** The next response, which must be of `type`. */
export async function expectType(c: SotwClient, type: string): Promise<SotwResponse> {
  const r = await c.next();
  if (r.type_url !== type) throw new Error(`expected a ${type.split('.').at(-1)} response, got ${r.type_url}`);
  return r;
}
