import type { Command } from './command.ts';

// Loaded lazily so `meshscope replay` never pays for the gateway's or Kafka's imports.
export const COMMANDS: Record<string, () => Promise<Command>> = {};
