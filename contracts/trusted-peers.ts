// Which peers' identity claims are believed (x-meshscope-source headers at the
// gateway, node ids on xDS and ALS streams): `--trusted-proxies CIDR,...`,
// loopback by default, because in the embedded setup every sidecar runs on
// 127.0.0.1 next to meshscope and only the node id tells them apart. A peer
// that is not trusted is what its address says it is in the inventory.
import { BlockList, isIP } from 'node:net';
import type { Inventory, WorkloadId } from './inventory/index.ts';

export const DEFAULT_TRUSTED_PROXIES = '127.0.0.0/8,::1/128';

export class TrustedPeers {
  private readonly list = new BlockList();

  /** `cidrs`: comma-separated CIDRs or bare addresses; '' or 'none' trusts nobody. `flag` names the input in errors. */
  constructor(
    readonly cidrs: string = DEFAULT_TRUSTED_PROXIES,
    flag = '--trusted-proxies',
  ) {
    for (const raw of cidrs.split(',').map((s) => s.trim()).filter((s) => s && s !== 'none')) {
      const [addr = '', bits, extra] = raw.split('/');
      const family = isIP(addr);
      const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
      if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
        throw new Error(`${flag}: "${raw}" is not an IP address or CIDR; write e.g. ${flag} 10.0.0.0/8,127.0.0.1`);
      }
      this.list.addSubnet(addr, prefix, family === 6 ? 'ipv6' : 'ipv4');
    }
  }

  trusts(ip: string): boolean {
    const bare = unmapped(ip);
    const family = isIP(bare);
    return family !== 0 && this.list.check(bare, family === 6 ? 'ipv6' : 'ipv4');
  }
}

/** The IP of a gRPC peer string (`ipv4:1.2.3.4:5`, `1.2.3.4:5`, `[::1]:5`, `ipv6:[::1]:5`). */
export function peerIp(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, '');
  if (p.startsWith('[')) return unmapped(p.slice(1, p.indexOf(']')));
  const colon = p.lastIndexOf(':');
  return unmapped(colon > 0 && p.indexOf(':') === colon ? p.slice(0, colon) : p);
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || unmapped(host).startsWith('127.');
}

function unmapped(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/**
 * Why a stream's self-declared node (xDS, ALS) is refused, or undefined when
 * it is believed: a trusted peer may be anyone; any other peer must be a
 * workload of the inventory, and its node must name that workload.
 */
export function refusedIdentity(inventory: Inventory, trusted: TrustedPeers, peer: string, nodeId: string, claimed: WorkloadId | undefined): string | undefined {
  const ip = peerIp(peer);
  if (trusted.trusts(ip)) return undefined;
  const actual = inventory.workloadByAddress(ip);
  if (actual && claimed === actual.id) return undefined;
  const names = claimed ? `workload ${claimed}` : 'no workload of the inventory';
  const is = actual ? `the address of workload ${actual.id}` : 'no workload address in the inventory';
  return (
    `node id ${JSON.stringify(nodeId)} names ${names}, but the stream comes from ${ip}, ${is}; ` +
    `a peer's identity is its inventory address unless it is in --trusted-proxies (${trusted.cidrs || 'none'})`
  );
}
