// Option checks every command shares, so a bad flag reads the same everywhere:
// the flag, the value given, and what would be accepted.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { InventoryOrigin } from '../contracts/inventory/open.ts';
import { parseLabelSelector } from '../contracts/inventory/kubernetes/namespaces.ts';

/** A usage or input error: the command prints it and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A port flag: 0-65535, 0 meaning any free port (tests and side-by-side runs use it). */
export function portOption(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new UsageError(`${flag} ${JSON.stringify(value)}: expected a port number 0-65535 (0 = any free port)`);
  return n;
}

/** A whole-number flag from 0 to `max`. */
export function wholeNumberOption(value: string | undefined, flag: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > max) throw new UsageError(`${flag} ${JSON.stringify(value)}: expected a whole number from 0 to ${max}`);
  return n;
}

/** The flags that say where the inventory comes from; every command that needs one takes them. */
export const INVENTORY_FLAGS = {
  mesh: { type: 'string' },
  kubeconfig: { type: 'string' },
  'namespace-selector': { type: 'string', multiple: true },
} as const;

export const INVENTORY_USAGE = `  --mesh FILE             the mesh inventory (mesh.yaml); edits are picked up live
  --kubeconfig FILE       take the inventory from Kubernetes instead (Services,
                          EndpointSlices, Pods, Istio ServiceEntries and
                          AuthorizationPolicies, followed live); in a pod with
                          neither flag, its service-account credentials are used
  --namespace-selector S  only namespaces whose labels match S (k=v,k!=v,k,!k);
                          repeat for "any of" (like Istio's discoverySelectors);
                          kube-system, kube-public, kube-node-lease, istio-system
                          and meshscope's own namespace are always left out`;

/** `--mesh` or `--kubeconfig` (or in-cluster credentials), never both; selectors only with Kubernetes. */
export function inventoryOption(
  values: { mesh?: string; kubeconfig?: string; 'namespace-selector'?: string[] },
  env: NodeJS.ProcessEnv = process.env,
): InventoryOrigin {
  const selectors = values['namespace-selector'] ?? [];
  if (values.mesh !== undefined && values.kubeconfig !== undefined) {
    throw new UsageError('give --mesh FILE or --kubeconfig FILE, not both: the inventory comes from one place');
  }
  if (values.mesh !== undefined) {
    if (selectors.length) throw new UsageError('--namespace-selector needs --kubeconfig FILE (a mesh.yaml lists its namespaces itself)');
    return { mesh: values.mesh };
  }
  if (values.kubeconfig === undefined && !env.KUBERNETES_SERVICE_HOST) {
    throw new UsageError('--mesh FILE is required, or --kubeconfig FILE: where the mesh inventory comes from (in a pod, its service account is used)');
  }
  let namespaceSelectors;
  try {
    namespaceSelectors = selectors.map((s) => parseLabelSelector(s));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return { kubernetes: { kubeconfig: values.kubeconfig, namespaceSelectors } };
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `--log-level`: one of pino's levels. */
export function logLevelOption(value: string | undefined, fallback: string): string {
  const level = value ?? fallback;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level ${JSON.stringify(level)}: expected one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/**
 * Strict flag parsing for `meshscope COMMAND`: no positionals, unknown flags
 * refused with a pointer to the command's --help.
 */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals: false, options }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; see meshscope ${command} --help`);
  }
}
