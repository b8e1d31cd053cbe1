// Istio's x-forwarded-client-cert: the SPIFFE identity a sidecar in front of
// the gateway verified over mTLS. Believed only from a trusted peer (that
// sidecar), never from anyone who could have typed it.

export interface SpiffeIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

const SPIFFE = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

/**
 * The identity in the last element of an XFCC value (the one the nearest proxy
 * added; earlier elements are what the client sent and prove nothing), or
 * undefined when it carries no SPIFFE workload URI.
 */
export function xfccIdentity(value: string): SpiffeIdentity | undefined {
  const elements = splitOutsideQuotes(value, ',');
  const last = elements[elements.length - 1];
  if (last === undefined) return undefined;
  for (const pair of splitOutsideQuotes(last, ';')) {
    const eq = pair.indexOf('=');
    if (eq === -1 || pair.slice(0, eq).trim().toLowerCase() !== 'uri') continue;
    let uri = pair.slice(eq + 1).trim();
    if (uri.startsWith('"') && uri.endsWith('"') && uri.length >= 2) uri = uri.slice(1, -1).replace(/\\(.)/g, '$1');
    const m = SPIFFE.exec(uri);
    if (m) return { trustDomain: m[1], namespace: m[2], serviceAccount: m[3] };
  }
  return undefined;
}

function splitOutsideQuotes(text: string, sep: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.filter((s) => s.trim() !== '');
}
