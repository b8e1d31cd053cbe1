// Public API of the lazy gateway: the fallback that forwards out-of-scope calls
// to inventory services and reports each one as an access-log record.
export { startGateway, type Gateway, type GatewayOptions } from './gateway.ts';
export { Metrics, type ReportStats } from './metrics.ts';
export { Reporter, type ReporterOptions } from './reporter.ts';
export { HttpSink } from './sinks/http.ts';
export { KafkaSink, type KafkaSinkOptions } from './sinks/kafka.ts';
export { StdoutSink } from './sinks/stdout.ts';
export { ERROR_HEADER, TIMEOUT_HEADER } from './headers.ts';
