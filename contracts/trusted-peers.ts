// Which peers' identity claims are believed (x-meshscope-source headers at the
// gateway, node ids on xDS and ALS streams): `--trusted-proxies CIDR,...`,
// loopback by default, because in the embedded setup every sidecar runs on
// 127.0.0.1 next to meshscope and only the node id tells them apart. A peer
// that is not trusted is what its address says it is in the inventory.
import { BlockList, isIP } from 'node:net';
import type { Inventory, WorkloadId } from './inventory/index.ts';

/**
 * Loopback only. Our own Envoy sidecars reach the gateway, ALS and xDS over
 * loopback in the embedded setup, and an Istio sidecar in front of the gateway
 * forwards from 127.0.0.6; nothing off the host can send from a loopback address.
 */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = ['127.0.0.0/8', '::1/128'];

const CACHE_LIMIT = 4096;

export class TrustedPeers {
  private readonly list = new BlockList();
  /** Peers repeat: the verdict per address is kept (bounded). */
  private readonly verdicts = new Map<string, boolean>();

  /** `cidrs` as `ADDR/BITS` or a bare address; throws naming the bad entry. */
  constructor(readonly cidrs: readonly string[] = DEFAULT_TRUSTED_PROXIES) {
    for (const cidr of cidrs) {
      const [address = '', bits, extra] = cidr.trim().split('/');
      const family = isIP(address);
      const max = family === 6 ? 128 : 32;
      const prefix = bits === undefined ? max : Number(bits);
      if (family === 0 || extra !== undefined || !/^\d{0,3}$/.test(bits ?? '') || !Number.isInteger(prefix) || prefix > max) {
        throw new Error(`trusted proxy ${JSON.stringify(cidr)}: expected an IPv4 or IPv6 CIDR such as 10.0.0.0/8 or fd00::/8`);
      }
      this.list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
    }
  }

  has(remoteAddress: string): boolean {
    let verdict = this.verdicts.get(remoteAddress);
    if (verdict !== undefined) return verdict;
    const address = unmapped(remoteAddress);
    const family = isIP(address);
    verdict = family !== 0 && this.list.check(address, family === 6 ? 'ipv6' : 'ipv4');
    if (this.verdicts.size >= CACHE_LIMIT) this.verdicts.clear();
    this.verdicts.set(remoteAddress, verdict);
    return verdict;
  }
}

/** `--trusted-proxies` text: CIDRs separated by commas, or `none`. */
export function parseTrustedProxies(text: string): string[] {
  const t = text.trim();
  if (t === 'none' || t === '') return [];
  return t.split(',').map((c) => c.trim());
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
  if (trusted.has(ip)) return undefined;
  const actual = inventory.workloadByAddress(ip);
  if (actual && claimed === actual.id) return undefined;
  const names = claimed ? `workload ${claimed}` : 'no workload of the inventory';
  const is = actual ? `the address of workload ${actual.id}` : 'no workload address in the inventory';
  return (
    `node id ${JSON.stringify(nodeId)} names ${names}, but the stream comes from ${ip}, ${is}; ` +
    `a peer's identity is its inventory address unless it is in --trusted-proxies (${trusted.cidrs.join(',') || 'none'})`
  );
}
