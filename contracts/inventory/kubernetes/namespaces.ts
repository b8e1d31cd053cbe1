// Which namespaces the inventory covers, like Istio's discoverySelectors: a
// namespace is in when it matches any selector (all of them when none is
// given) and is not a system namespace. Selectors are Kubernetes equality
// selectors: `k=v`, `k==v`, `k!=v`, `k` (has the label), `!k` (has not).
import { isLabelValue, labelKeyProblem } from '../../kube-names.ts';

/** Left out unless a selector names them explicitly… they never are: they run the platform, not the apps. */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'istio-system'];

type Term = { key: string; op: '=' | '!=' | 'exists' | '!exists'; value?: string };
export type LabelSelector = readonly Term[];

/** Parses `k=v,k2!=v2,k3,!k4`; the error names the flag, the term and the accepted forms. */
export function parseLabelSelector(text: string, flag = '--namespace-selector'): LabelSelector {
  const terms: Term[] = [];
  for (const raw of text.split(',')) {
    const t = raw.trim();
    const m = /^(!?)([^=!]+?)\s*(?:(==|=|!=)\s*(.*))?$/.exec(t);
    const bad = () => new Error(`${flag} ${JSON.stringify(text)}: cannot read "${t}"; write label=value, label!=value, label or !label, separated by commas`);
    if (!t || !m) throw bad();
    const [, not, k, op, v] = m;
    if (labelKeyProblem(k)) throw bad();
    if (op) {
      if (not || !isLabelValue(v)) throw bad();
      terms.push({ key: k, op: op === '!=' ? '!=' : '=', value: v });
    } else {
      terms.push({ key: k, op: not ? '!exists' : 'exists' });
    }
  }
  return terms;
}

export function matchesSelector(sel: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return sel.every((t) => {
    const v = labels[t.key];
    switch (t.op) {
      case '=':
        return v === t.value;
      case '!=':
        return v !== t.value;
      case 'exists':
        return v !== undefined;
      case '!exists':
        return v === undefined;
    }
  });
}

export class NamespaceSelection {
  private readonly excluded: ReadonlySet<string>;

  constructor(
    private readonly selectors: readonly LabelSelector[] = [],
    /** meshscope's own namespace and any others to leave out, besides the system ones. */
    exclude: readonly string[] = [],
  ) {
    this.excluded = new Set([...SYSTEM_NAMESPACES, ...exclude]);
  }

  includes(namespace: string, labels: Readonly<Record<string, string>>): boolean {
    if (this.excluded.has(namespace)) return false;
    return this.selectors.length === 0 || this.selectors.some((s) => matchesSelector(s, labels));
  }
}
