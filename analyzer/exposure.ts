// Who can write to the analyzer: its listeners bind loopback unless --listen
// says otherwise, and beyond loopback open writes (pins and rules without
// --admin-token, access-log posts without --ingest-token) are refused unless
// --allow-open-writes accepts them: anyone who reaches the port could
// otherwise grow any service's scope. ALS and xDS peers are judged by
// identity.ts instead (a sidecar cannot carry a token).
import { isLoopback } from '../contracts/trusted-peers.ts';

export interface Exposure {
  adminToken?: string;
  ingestToken?: string;
  allowOpenWrites?: boolean;
}

export function checkExposure(host: string, opts: Exposure): void {
  if (isLoopback(host) || opts.allowOpenWrites) return;
  const open = [
    ...(opts.adminToken ? [] : ['pin and rule writes (no --admin-token / MESHSCOPE_ADMIN_TOKEN)']),
    ...(opts.ingestToken ? [] : ['access-log posts (no --ingest-token / MESHSCOPE_INGEST_TOKEN)']),
  ];
  if (open.length === 0) return;
  throw new Error(
    `--listen ${host} makes the API reachable beyond loopback, where anyone could send ${open.join(' and ')}; ` +
      'pass --admin-token and --ingest-token, or --allow-open-writes to accept open writes, or --listen 127.0.0.1',
  );
}
