import type { Command } from './command.ts';

// Loaded lazily so `meshscope replay` never pays for the gateway's or Kafka's imports.
export const COMMANDS: Record<string, () => Promise<Command>> = {
  'xds-server': async () => (await import('../xds-server/cli.ts')).xdsServerCommand,
  bootstrap: async () => (await import('../xds-server/cli.ts')).bootstrapCommand,
  gateway: async () => (await import('../lazy-gateway/cli.ts')).command,
  analyzer: async () => (await import('../analyzer/cli.ts')).command,
  replay: async () => (await import('../analyzer/replay/cli.ts')).command,
  demo: async () => (await import('../demo/cli.ts')).command,
  'install-envoy': async () => (await import('../install/cli.ts')).command,
};
