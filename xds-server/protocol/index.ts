// The xDS protocol engine: ADS stream state machines (SotW and delta) over the
// XdsCache seam, the hand-built grpc-js service definition, and node status.
export { adsServiceDefinition, ADS_SERVICE, SOTW_PATH, DELTA_PATH } from './ads-service.ts';
export type { DiscoveryRequest, DeltaDiscoveryRequest, WireStatus } from './ads-service.ts';
export { SotwStream } from './sotw-stream.ts';
export { DeltaStream } from './delta-stream.ts';
export type { StreamSink, StreamDeps } from './stream-core.ts';
export { NodeStatusRegistry } from './status.ts';
export { ProtocolEvents, type AnswerEvent, type PushEvent, type PushResponse, type StreamEvent } from './events.ts';
export type { StreamView } from './status.ts';
export { contentVersion } from '../set-version.ts';
export { ProtocolError } from './errors.ts';
