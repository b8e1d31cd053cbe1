// Kubernetes name and label syntax, as apimachinery validates it
// (IsDNS1123Label, IsQualifiedName, IsValidLabelValue): one copy for every
// place meshscope accepts a name or a label, so a selector or a name it takes
// is one the API server would take too.

/** A DNS label: a namespace, a Service name, an install's name. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Why `key` is not a label key (`[prefix/]name`), or undefined when it is one. */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'at most one "/" (PREFIX/NAME, e.g. app.kubernetes.io/name)';
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `the prefix ${JSON.stringify(prefix)} must be a DNS subdomain (lowercase letters, digits, "-" and ".", up to 253 characters)`;
  }
  if (!LABEL_NAME.test(name)) return 'the name must be 1 to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
  return undefined;
}

/** What a label value may be, for messages. */
export const LABEL_VALUE_SYNTAX = 'empty, or up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';

/** Empty, or up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit. */
export function isLabelValue(value: string): boolean {
  return LABEL_VALUE.test(value);
}
