// Authority → service port → endpoints, and the checks that keep the gateway
// from being an open proxy: only services of the inventory are reachable.
import { isIP } from 'node:net';
import { Inventory, splitHostPort, type Protocol, type Service, type ServicePort, type WorkloadId } from '../contracts/inventory/index.ts';
import type { EndpointHealth, OutlierDetector } from './outlier.ts';

export interface Endpoint {
  /** `address:port`, the key of its connection pool. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly workload: WorkloadId;
  /** Its outlier state, shared by every route that reaches `key`. */
  readonly health: EndpointHealth;
}

export class Route {
  /** Next endpoint index for round robin; shared by every caller of this service port. */
  next = 0;
  readonly cluster: string;
  constructor(
    readonly service: Service,
    readonly port: ServicePort,
    readonly endpoints: readonly Endpoint[],
  ) {
    this.cluster = `outbound|${port.port}||${service.fqdn}`;
  }

  get protocol(): Protocol {
    return this.port.protocol;
  }

  /** The next endpoint in rotation that is not ejected; when all are, the next one anyway (better a try than none). */
  pick(): Endpoint {
    const n = this.endpoints.length;
    const first = this.endpoints[this.next % n];
    this.next = (this.next + 1) % n;
    if (first.health.ejectedUntil === 0) return first;
    const now = Date.now();
    if (!first.health.ejected(now)) return first;
    for (let i = 1; i < n; i++) {
      const e = this.endpoints[this.next];
      this.next = (this.next + 1) % n;
      if (!e.health.ejected(now)) return e;
    }
    return first;
  }
}

/** Why a request is not forwarded: status, a reason token for x-meshscope-error, a one-line message. */
export class Rejection {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly message: string,
  ) {}
}

const CACHE_LIMIT = 10_000;

export class Router {
  private inventory: Inventory | undefined;
  private readonly cache = new Map<string, Route | Rejection>();
  /** One Route per service port (and per pod for pod-IP authorities), so every spelling shares one rotation. */
  private readonly routes = new Map<string, Route>();

  constructor(private readonly outliers: OutlierDetector) {}

  /** Resolves an authority for a caller in `namespace`; `inventory` is the current version. */
  resolve(inventory: Inventory, method: string, authority: string, namespace: string, absoluteForm: boolean): Route | Rejection {
    if (method === 'CONNECT') {
      return new Rejection(405, 'connect-not-allowed', `CONNECT ${authority || '(no target)'} refused: the gateway forwards only to services of the mesh inventory`);
    }
    if (!authority) return new Rejection(400, 'missing-authority', 'the request names no destination: send a Host header or :authority');
    if (inventory !== this.inventory) {
      this.inventory = inventory;
      this.cache.clear();
      this.routes.clear();
    }
    const key = absoluteForm ? `${namespace}|a|${authority}` : `${namespace}|${authority}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const result = this.lookup(inventory, authority, namespace, absoluteForm);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    // Rejections are cached too: they are derived from the inventory alone.
    this.cache.set(key, result);
    return result;
  }

  private lookup(inventory: Inventory, authority: string, namespace: string, absoluteForm: boolean): Route | Rejection {
    const { host, port } = splitHostPort(authority.trim().toLowerCase());
    const resolved = inventory.resolveAuthority(authority, namespace);
    if (!resolved) {
      if (host && isIP(host)) return this.podAddress(inventory, authority, host, port);
      if (absoluteForm) {
        return new Rejection(403, 'absolute-form-unknown-host', `absolute-form request to ${authority} refused: not a service of the mesh inventory`);
      }
      return new Rejection(404, 'unknown-authority', `no service of the mesh inventory is named ${JSON.stringify(authority)} (caller namespace ${namespace})`);
    }
    const { service } = resolved;
    let servicePort = resolved.port;
    if (!servicePort) {
      if (port !== undefined || service.ports.length === 0) return unknownPort(service, authority);
      // As the sidecars' routes read it: 80 when the service has it, else its first HTTP port.
      const http = service.ports.filter((p) => p.protocol !== 'tcp');
      servicePort = http.find((p) => p.port === 80) ?? http[0];
      if (!servicePort) return unknownPort(service, authority);
    }
    const target = servicePort.targetPort;
    return this.route(`${service.id}:${servicePort.port}`, service, servicePort, () =>
      service.workloads.map((w) => this.endpoint(w.address, target, w.id)),
    );
  }

  /** A pod IP of the inventory is reachable on its service's target ports; any other IP literal is not. */
  private podAddress(inventory: Inventory, authority: string, host: string, port: number | undefined): Route | Rejection {
    const workload = inventory.workloadByAddress(host);
    const service = workload && inventory.service(workload.service);
    if (!workload || !service) {
      return new Rejection(403, 'ip-not-in-inventory', `${authority} refused: the IP address is neither a clusterIP nor a pod of the mesh inventory`);
    }
    const servicePort = service.ports.find((p) => p.targetPort === (port ?? 80));
    if (!servicePort) return unknownPort(service, authority);
    const target = servicePort.targetPort;
    return this.route(`${workload.id}:${target}`, service, servicePort, () => [this.endpoint(workload.address, target, workload.id)]);
  }

  private endpoint(address: string, port: number, workload: WorkloadId): Endpoint {
    const key = `${address}:${port}`;
    return { key, address, port, workload, health: this.outliers.of(key) };
  }

  private route(key: string, service: Service, port: ServicePort, endpoints: () => Endpoint[]): Route | Rejection {
    if (service.workloads.length === 0) return new Rejection(503, 'no-endpoints', `service ${service.id} port ${port.port} has no workloads in the mesh inventory`);
    let route = this.routes.get(key);
    if (!route) {
      route = new Route(service, port, endpoints());
      this.routes.set(key, route);
    }
    return route;
  }
}

function unknownPort(service: Service, authority: string): Rejection {
  const ports = service.ports.map((p) => p.port).join(', ') || 'none';
  return new Rejection(404, 'unknown-port', `${authority}: service ${service.id} has no such port (ports: ${ports}); name the port in the authority`);
}
