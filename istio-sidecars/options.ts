// Istio-mode option values, checked where they are parsed so a bad one names
// the flag and the fix.
import { DNS_LABEL } from '../contracts/kube-names.ts';
import type { GatewayService } from './sidecar-spec.ts';

/** `NAME.NAMESPACE:PORT`, the lazy gateway's Service. */
export function parseGatewayService(text: string, flag = '--gateway-service'): GatewayService {
  const m = /^([^.:\s]+)\.([^.:\s]+):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : 0;
  if (!m || !DNS_LABEL.test(m[1]) || !DNS_LABEL.test(m[2]) || port < 1 || port > 65535) {
    throw new Error(`${flag} ${JSON.stringify(text)}: expected the lazy gateway's Service as NAME.NAMESPACE:PORT, e.g. ${flag} meshscope-gateway.meshscope:15080`);
  }
  return { name: m[1], namespace: m[2], port };
}

/** An install's name (instance.ts): a DNS label, as it becomes a label value and part of a field manager name. */
export function parseInstance(text: string, flag = '--instance'): string {
  if (!DNS_LABEL.test(text)) {
    throw new Error(`${flag} ${JSON.stringify(text)}: not a DNS label; use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit, e.g. ${flag} meshscope-canary`);
  }
  return text;
}

/** `ns/host` entries of a Sidecar egress, comma-separated. */
export function parseAlwaysVisible(text: string, flag = '--always-visible'): string[] {
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const h of list) {
    if (!/^(\*|~|\.|[a-z0-9]([a-z0-9-]*[a-z0-9])?)\/(\*|(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?)$/i.test(h)) {
      throw new Error(`${flag}: "${h}" is not a Sidecar egress host; write NAMESPACE/HOST, e.g. istio-system/* or default/db.default.svc.cluster.local`);
    }
  }
  return list;
}
