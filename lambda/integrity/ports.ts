/**
 * What the integrity verification needs from the outside world: the archive's files (S3, or a local copy) and
 * CloudTrail's public keys (`ListPublicKeys`, or a saved `list-public-keys` output). The adapters in
 * `lambda/adapters/` implement them.
 */
import type { PublicKeyRing } from '../core/digest';

/** A digest file's bytes and its S3 user metadata (signature, signature-algorithm). */
export interface StoredDigest {
  readonly body: Uint8Array;
  /** @default - none (an offline copy without its `.metadata.json`) */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The archive, read-only. */
export interface ArchiveReader {
  /** The bucket, when reading S3 (digests must then name exactly it); undefined for a local copy. */
  readonly bucket?: string;
  /** Every key under `prefix`, at any depth. */
  list(prefix: string): AsyncIterable<string>;
  /** The folders right under `prefix` (each ending in `/`). */
  listFolders(prefix: string): Promise<string[]>;
  /** A digest file; undefined when there is none. Throws when it exists but cannot be read. */
  readDigest(key: string): Promise<StoredDigest | undefined>;
  /** A log file's bytes; undefined when there is none. Throws when it exists but cannot be opened. */
  openLog(key: string): Promise<AsyncIterable<Uint8Array> | undefined>;
}

/** One digest's key needs: the fingerprint, the Region that signed it, when. */
export interface KeyNeed {
  readonly fingerprint: string;
  readonly region: string;
  /** The digest end time, epoch ms. */
  readonly signedAt: number;
}

/** CloudTrail's public keys. */
export interface PublicKeySource {
  /** A ring holding (at least) the keys these digests were signed with, where CloudTrail still has them. */
  ringFor(needs: readonly KeyNeed[]): Promise<PublicKeyRing>;
}
