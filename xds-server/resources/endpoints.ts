// EDS: one ClusterLoadAssignment per service port, shared by every node.
import type { Service, ServicePort } from '../../contracts/index.ts';
import type { EncodedResource } from '../types.ts';
import { LOAD_ASSIGNMENT, encodeResource } from './encode.ts';
import { outboundClusterName } from './names.ts';

/**
 * All endpoints in one locality. gRPC clients drop a locality that has no
 * `locality` message or no `load_balancing_weight`, so both are always set.
 */
export function loadAssignment(service: Service, port: ServicePort): EncodedResource {
  const name = outboundClusterName(service, port);
  const lbEndpoints = service.workloads.map((w) => ({
    endpoint: { address: { socket_address: { address: w.address, port_value: port.targetPort } } },
    health_status: 'HEALTHY',
    load_balancing_weight: { value: 1 },
  }));
  return encodeResource(LOAD_ASSIGNMENT, name, {
    cluster_name: name,
    endpoints: lbEndpoints.length === 0 ? [] : [{ locality: {}, load_balancing_weight: { value: lbEndpoints.length }, lb_endpoints: lbEndpoints }],
  });
}
