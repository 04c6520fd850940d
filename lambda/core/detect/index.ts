/** The detection engine's public surface (see docs/detection.md). */
export type {
  ConsoleBruteForceConfig,
  DetectConfig,
  DetectConfigInput,
  DetectorKind,
  RateDetectorConfig,
  S3ExfiltrationConfig,
  UnusedRegionConfig,
} from './config';
export { DEFAULT_DETECT_CONFIG, DETECTOR_KINDS, DetectConfigError, resolveDetectConfig } from './config';
export type { PartitionData, Settings } from './context';
export { settingsOf, shortPrincipal } from './context';
export type { BinCounts, FileDelta } from './delta';
export { buildDelta, compareDeltas, DeltaBuilder, digestDelta } from './delta';
export type { Attribution, InsightEvent, TrailsightDetails } from './insight';
export { deterministicUuid } from './insight';
export type { PartitionInput } from './partition';
export {
  compareInputs,
  deltaChars,
  inputTime,
  newHead,
  PartitionMachine,
  parseDelta,
  serializeDelta,
  windowHistoryFrom,
} from './partition';
export type { DeliveredFile, PartitionSnapshot, ReplayState, ReplayStats } from './replay';
export {
  fileIdentity,
  parseReplayState,
  pruneApplied,
  REPLAY_STATE_FORMAT,
  Replay,
  serializeReplayState,
} from './replay';
export type { FilePosition, Page, PageRef, PartitionHead } from './state';
export { checkHead, checkPage, emptyPage, headFromJson, headToJson, pageIdOf, pageIds, StateError } from './state';
export { WindowIndex } from './windows';
