// Which peer addresses may speak for someone else: the proxies in front of the
// gateway whose identity headers (x-meshscope-source, x-forwarded-client-cert)
// are believed. Everyone else is known only by its own address.
import { BlockList, isIP } from 'node:net';

/**
 * Loopback only. Our own Envoy sidecars reach the gateway over loopback in the
 * embedded setup, and an Istio sidecar in front of the gateway forwards from
 * 127.0.0.6; nothing off the host can send from a loopback address.
 */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = ['127.0.0.0/8', '::1/128'];

const CACHE_LIMIT = 4096;

export class TrustedPeers {
  private readonly list = new BlockList();
  /** Peers repeat: the verdict per address is kept (bounded). */
  private readonly verdicts = new Map<string, boolean>();

  /** `cidrs` as `ADDR/BITS` or a bare address; throws naming the bad entry. */
  constructor(readonly cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address, bits, extra] = cidr.trim().split('/');
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
    const address = remoteAddress.startsWith('::ffff:') && isIP(remoteAddress.slice(7)) === 4 ? remoteAddress.slice(7) : remoteAddress;
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
