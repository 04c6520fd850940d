/**
 * What verification reports: one finding per problem, naming the file and the kind, so an auditor (or a rule on the
 * `Trailsight Integrity` events) can act on each.
 */

/**
 * The kinds of finding.
 *
 * Digests:
 * - `digest-unreadable`: not gzip, truncated, or too large.
 * - `digest-malformed`: not JSON, or not the documented digest shape.
 * - `digest-moved`: the digest names another location than where it was read (the CLI's "has been moved").
 * - `digest-signature-missing`: no signature to check (S3 metadata absent; offline, no `.metadata.json` sidecar).
 * - `digest-unknown-key`: no public key with the digest's fingerprint.
 * - `digest-signature-invalid`: the RSA signature does not verify (changed content, or signed with another key).
 * - `digest-missing`: a digest named as previous by the next one is not there.
 * - `digest-chain-broken`: a digest's previousDigestSignature or previousDigestHashValue does not match the digest
 *   before it.
 * - `digest-gap`: an hour (or more) between two linked digests has no digest.
 * - `chain-restarted` (warning): a starting digest after earlier ones: logging or validation was stopped (or the
 *   trail recreated) for the hours in between, and nothing is digested for them.
 * - `digest-overdue`: a chain's newest digest is older than expected (digests arrive hourly).
 *
 * Log files:
 * - `log-missing`: listed by a digest, not there.
 * - `log-hash-mismatch`: its SHA-256 (decompressed) is not the one the digest lists.
 * - `log-trailing-data`: bytes after the end of its gzip stream (as `validate-logs` reports).
 * - `log-unreadable`: cannot be read or decompressed.
 * - `log-unlisted`: present in a span the digests cover, but no authentic digest lists it (planted).
 */
export type FindingKind =
  | 'digest-unreadable'
  | 'digest-malformed'
  | 'digest-moved'
  | 'digest-signature-missing'
  | 'digest-unknown-key'
  | 'digest-signature-invalid'
  | 'digest-missing'
  | 'digest-chain-broken'
  | 'digest-gap'
  | 'chain-restarted'
  | 'digest-overdue'
  | 'log-missing'
  | 'log-hash-mismatch'
  | 'log-trailing-data'
  | 'log-unreadable'
  | 'log-unlisted';

export type Severity = 'error' | 'warning';

export interface Finding {
  readonly kind: FindingKind;
  readonly severity: Severity;
  /** The file the finding is about (a key, or a path relative to a local root). */
  readonly file: string;
  /** One sentence an auditor can act on. */
  readonly message: string;
  /** The chain (`<account>/<region>/<trail>`), when the finding belongs to one. */
  readonly chain?: string;
}
