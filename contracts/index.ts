export * from './inventory/index.ts';
export * from './access-log.ts';
export * from './scope.ts';
export * from './trusted-peers.ts';
export * from './metrics.ts';
