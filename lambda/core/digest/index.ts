/** CloudTrail digest-chain verification, pure (no I/O, no clock): see verify.ts. */
export { type DigestDocument, type ListedLogFile, readDigest } from './digest-file';
export { type DigestKey, keyTail, logPartition, parseDigestKey } from './digest-key';
export type { Finding, FindingKind, Severity } from './findings';
export { hashLogFile, type LogHash } from './log-hash';
export { type PublicKeyEntry, type PublicKeyInput, PublicKeyRing } from './public-keys';
export { SIGNATURE_ALGORITHM, type SignedFields, signatureVerifies, stringToSign } from './signature';
export {
  type AssessInput,
  assessArchive,
  type ChainSummary,
  type DigestInput,
  type DigestStatus,
  type ExaminedDigest,
  examineDigests,
  type IntegrityReport,
} from './verify';
