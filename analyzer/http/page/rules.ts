// What the panel's rule form sends: the selector typed, checked with the same
// Kubernetes label syntax the API checks rules with (contracts/kube-names.ts,
// no imports of its own, so it bundles for the browser), and the rule's id.
import { isLabelValue, LABEL_VALUE_SYNTAX, labelKeyProblem } from '../../../contracts/kube-names.ts';

/**
 * `app=payments, tier=db` → `{app: "payments", tier: "db"}`, or an error naming
 * the bad part and the fix. Equality only: a rule's selector is matchLabels.
 */
export function parseSelector(text: string): Record<string, string> {
  const out = new Map<string, string>();
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error('label selector: give at least one LABEL=VALUE (e.g. app=payments)');
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`label selector: "${part}" is not LABEL=VALUE (e.g. app=payments; several joined by commas)`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key.endsWith('!') || value.startsWith('=')) {
      throw new Error(`label selector: "${part}": only LABEL=VALUE (a rule matches workloads whose labels equal these values)`);
    }
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) throw new Error(`label selector: key "${key}" is not a Kubernetes label key: ${keyProblem}`);
    if (!isLabelValue(value)) throw new Error(`label selector: value "${value}" of ${key} is not a Kubernetes label value: ${LABEL_VALUE_SYNTAX}`);
    const before = out.get(key);
    if (before !== undefined && before !== value) throw new Error(`label selector: ${key} is given twice (${key}=${before}, ${key}=${value}): keep one`);
    out.set(key, value);
  }
  return Object.fromEntries(out);
}

/** A readable rule id the API accepts (letters, digits, ".", "_", "-"; ≤ 63), unique per source, kind and value. */
export function ruleId(source: string, kind: 'namespace' | 'selector', text: string): string {
  const who = source === '*' ? 'every' : source.startsWith('*.') ? `every.${source.slice(2)}` : source;
  const what = text.replace(/\s+/g, '').replace(/[^\w.-]+/g, '-');
  const id = `${who}.${kind === 'namespace' ? 'ns' : 'labels'}.${what}`.replace(/^[^A-Za-z0-9]+/, '');
  if (id.length <= 63) return id;
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (Math.imul(hash, 31) + id.charCodeAt(i)) >>> 0;
  return `${id.slice(0, 54)}.${hash.toString(36).padStart(7, '0').slice(0, 8)}`;
}
