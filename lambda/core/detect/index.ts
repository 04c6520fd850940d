/** The detection engine's public surface (see docs/detection.md). */
export type { DetectConfig, DetectConfigInput, DetectorKind, RateDetectorConfig } from './config';
export { DEFAULT_DETECT_CONFIG, DETECTOR_KINDS, DetectConfigError, resolveDetectConfig } from './config';
export type { DeliveredFile } from './engine';
export { DetectionEngine, shortPrincipal } from './engine';
export type { Attribution, InsightEvent, TrailsightDetails } from './insight';
export { deterministicUuid } from './insight';
export type { EngineState } from './state';
export { emptyState, mergeStates, parseState, StateError, serializeState } from './state';
