// The analyzer's public API: what analyzer/http, analyzer/sources, the
// `meshscope analyzer` command and replay build on. Nothing else in core/ is
// meant to be imported from outside analyzer/.
export { Analyzer, type AnalyzerOptions, type AnalyzerEvents } from './core/analyzer.ts';
export type { IngestResult, RawInput, RejectionLog, NormalizedRecord, Rejection, RejectReason, UnresolvedKind } from './core/types.ts';
export type { EdgeView, RejectedView, UnresolvedView, AnalyzerStats, ScopeEntryView, ScopeReasonView } from './core/views.ts';
export type { Pin, ScopeRule } from './core/policy.ts';
export { validateRule } from './core/policy.ts';
export type { EdgeKind } from './core/edge.ts';
export type { MeshGraph, NodeAttributes, EdgeAttributes } from './core/graph.ts';
export { nodeKey } from './core/graph.ts';
export { normalize, isRejection, DEFAULT_MAX_LINE } from './core/normalize.ts';
export { systemClock, VirtualClock, type Clock } from './core/clock.ts';
export { parseDuration, formatDuration, isDuration } from './core/duration.ts';
export { DEFAULT_TTL_MS } from './core/expiry.ts';
export { DEFAULT_DEDUPE_WINDOW_MS, DEFAULT_DEDUPE_MAX } from './core/dedupe.ts';
