/**
 * Digest-chain verification, pure: the caller reads the files (S3 or disk) and passes their bytes, the public keys and
 * the time; this module decides what is wrong.
 *
 * Two steps, as `aws cloudtrail validate-logs` does them (awscli/customizations/cloudtrail/validation.py), plus what
 * the CLI does not check:
 * 1. {@link examineDigests}, per digest file: readable, the documented shape, read from where it says it was written
 *    (not moved), and signed (RSA SHA-256 over the documented signing string, key chosen by the digest's
 *    fingerprint).
 * 2. {@link assessArchive}, over everything read: each digest links to the one before it (previous signature and
 *    SHA-256) with no hour missing in between; each listed log file is there with the listed SHA-256; and — beyond the
 *    CLI — log files that no authentic digest lists (planted), digests missing from the chain, hours without a digest,
 *    and chains whose newest digest is overdue.
 */
import { classifyKey } from '../keys';
import { type DigestDocument, readDigest } from './digest-file';
import { type DigestKey, keyTail, logPartition, parseDigestKey } from './digest-key';
import type { Finding, FindingKind } from './findings';
import type { LogHash } from './log-hash';
import type { PublicKeyRing } from './public-keys';
import { SIGNATURE_ALGORITHM, signatureVerifies, stringToSign } from './signature';

/** One digest file as read. */
export interface DigestInput {
  /** The S3 key, or the path relative to a local root. */
  readonly key: string;
  /**
   * The bucket it was read from. Offline it is unknown, and only the part of the key from `AWSLogs/` on is compared
   * with the location the digest names.
   * @default - unknown
   */
  readonly bucket?: string;
  readonly body: Uint8Array;
  /**
   * The object's user metadata: `signature` (hex) and `signature-algorithm`, as S3 returns `x-amz-meta-*` headers.
   * @default - unavailable: the signature cannot be checked
   */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * - `verified`: the signature verifies with a CloudTrail public key.
 * - `unauthenticated`: readable, but the signature could not be checked (no signature, or no key with its
 *   fingerprint); its listing is used, and its finding says why it is not authenticated.
 * - `rejected`: proven not to be what CloudTrail wrote (signature invalid, moved, unsupported algorithm); its listing
 *   is ignored.
 * - `unreadable`: not a digest at all.
 */
export type DigestStatus = 'verified' | 'unauthenticated' | 'rejected' | 'unreadable';

/** The outcome of {@link examineDigest}. */
export interface ExaminedDigest {
  readonly key: string;
  /** The digest's name parsed (chain, account, Region, end time); undefined for a key that is not a digest's. */
  readonly name?: DigestKey;
  readonly status: DigestStatus;
  readonly document?: DigestDocument;
  /** Hex SHA-256 of the decompressed digest. */
  readonly sha256?: string;
  /** The hex signature from the object's metadata. */
  readonly signature?: string;
  readonly findings: readonly Finding[];
}

/**
 * Examines digest files: shape, location, signature.
 *
 * A digest's signature is its S3 metadata (`x-amz-meta-signature`) or, when that is not at hand (an offline copy),
 * the `previousDigestSignature` of the digest after it, as the CloudTrail User Guide describes for walking a chain
 * ("Custom implementations of CloudTrail log file integrity validation", steps G and "Validating digest and log files
 * offline"). Wherever it comes from, only a signature that verifies with a CloudTrail public key authenticates the
 * digest; offline, the newest digest of a chain therefore needs its signature saved beside it.
 */
export function examineDigests(inputs: readonly DigestInput[], keys: PublicKeyRing): ExaminedDigest[] {
  const reads = inputs.map((input) => ({ input, read: readDigest(input.key, input.body) }));
  const signedBySuccessor = new Map<string, string>();
  for (const { read } of reads) {
    const doc = read.ok ? read.document : undefined;
    if (doc?.previousDigestS3Object && doc.previousDigestSignature)
      signedBySuccessor.set(keyTail(doc.previousDigestS3Object), doc.previousDigestSignature);
  }
  return reads.map(({ input, read }) =>
    examine(input, read, keys, input.metadata?.signature ?? signedBySuccessor.get(keyTail(input.key))),
  );
}

function examine(
  input: DigestInput,
  read: ReturnType<typeof readDigest>,
  keys: PublicKeyRing,
  signature: string | undefined,
): ExaminedDigest {
  const name = parseDigestKey(input.key);
  const chain = name?.chain;
  const finding = (kind: FindingKind, message: string): Finding => ({
    kind,
    severity: 'error',
    file: input.key,
    message,
    ...(chain ? { chain } : {}),
  });
  if (!read.ok) {
    return { key: input.key, name, status: 'unreadable', findings: [{ ...read.finding, ...(chain ? { chain } : {}) }] };
  }
  const { document, sha256 } = read;
  const base = { key: input.key, name, document, sha256 };

  const moved =
    input.bucket !== undefined
      ? document.digestS3Bucket !== input.bucket || document.digestS3Object !== input.key
      : keyTail(document.digestS3Object) !== keyTail(input.key);
  if (moved) {
    return {
      ...base,
      status: 'rejected',
      findings: [
        finding(
          'digest-moved',
          `digest file says it was written to s3://${document.digestS3Bucket}/${document.digestS3Object}, not where it was read: it has been moved or copied`,
        ),
      ],
    };
  }

  if (!signature) {
    return {
      ...base,
      status: 'unauthenticated',
      findings: [
        finding(
          'digest-signature-missing',
          'digest file has no signature to check: no S3 metadata "signature" (offline, no <file>.metadata.json beside it) and no later digest naming it',
        ),
      ],
    };
  }
  const algorithm = input.metadata?.['signature-algorithm'] ?? document.digestSignatureAlgorithm ?? SIGNATURE_ALGORITHM;
  if (algorithm !== SIGNATURE_ALGORITHM) {
    return {
      ...base,
      signature,
      status: 'rejected',
      findings: [
        finding('digest-signature-invalid', `digest file is signed with "${algorithm}", not ${SIGNATURE_ALGORITHM}`),
      ],
    };
  }
  const fingerprint = document.digestPublicKeyFingerprint;
  const publicKey = keys.get(fingerprint);
  if (!publicKey) {
    const region = name ? ` (aws cloudtrail list-public-keys --region ${name.region})` : '';
    return {
      ...base,
      signature,
      status: 'unauthenticated',
      findings: [
        finding(
          'digest-unknown-key',
          `digest file is signed with a key of fingerprint ${fingerprint}, which is not among the CloudTrail public keys${region}: it cannot be authenticated`,
        ),
      ],
    };
  }
  if (!signatureVerifies(stringToSign(document, sha256), signature, publicKey.key)) {
    return {
      ...base,
      signature,
      status: 'rejected',
      findings: [
        finding(
          'digest-signature-invalid',
          `digest file signature does not verify with CloudTrail public key ${publicKey.fingerprint}: the file was changed or signed by someone else`,
        ),
      ],
    };
  }
  return { ...base, signature, status: 'verified', findings: [] };
}

/** Inputs of {@link assessArchive}. */
export interface AssessInput {
  /** Every digest examined in scope. */
  readonly digests: readonly ExaminedDigest[];
  /** Every log file present in scope (keys). */
  readonly logFiles: readonly string[];
  /**
   * The hashes of the listed log files that were read, by key.
   * @default - log file content not checked (presence only)
   */
  readonly logHashes?: ReadonlyMap<string, LogHash>;
  /**
   * Start of the verification window, epoch ms: a missing previous digest that ends before it is out of scope.
   * @default - the oldest digest of each chain bounds it
   */
  readonly from?: number;
  /**
   * Report log files that no digest lists.
   * @default true
   */
  readonly checkUnlisted?: boolean;
  /**
   * A log file delivered less than this long before a partition's newest digest ends may not be digested yet.
   * @default 60 minutes
   */
  readonly pendingMs?: number;
  /**
   * The time now, epoch ms, and how old a chain's newest digest may be before it is overdue.
   * @default - no overdue check
   */
  readonly overdue?: { readonly now: number; readonly afterMs: number };
  /**
   * Check the log files listed by these digests only (the others are read for the chain).
   * @default - every digest's
   */
  readonly listingsOf?: ReadonlySet<string>;
  /**
   * Files that could not be read at all (access denied, the source failed), as findings: reported, never aborting.
   * @default - none
   */
  readonly readFailures?: readonly Finding[];
}

/** A chain seen in scope. */
export interface ChainSummary {
  readonly chain: string;
  readonly account: string;
  readonly region: string;
  readonly trailName: string;
  readonly backfill: boolean;
  readonly digests: number;
  /** ISO start of the oldest and end of the newest digest read. */
  readonly from?: string;
  readonly to?: string;
}

/** What verification found, for a table, JSON or an event. */
export interface IntegrityReport {
  /** FAIL when any finding is an error. */
  readonly status: 'PASS' | 'FAIL';
  readonly chains: readonly ChainSummary[];
  readonly counts: {
    readonly digests: number;
    readonly digestsVerified: number;
    readonly digestsUnauthenticated: number;
    readonly digestsRejected: number;
    readonly digestsUnreadable: number;
    /** Log files listed by the digests read. */
    readonly logFilesListed: number;
    /** Listed, present, and hashing to the listed SHA-256. */
    readonly logFilesVerified: number;
    /** Listed and present, content not checked. */
    readonly logFilesNotHashed: number;
    /** Present, delivered too recently to be in a digest yet. */
    readonly logFilesPending: number;
    readonly errors: number;
    readonly warnings: number;
  };
  readonly findings: readonly Finding[];
}

/** How far apart (ms) two linked digests may be before the hours between them count as missing. */
const CONTIGUITY_TOLERANCE_MS = 5 * 60_000;

/** Assesses the digests and log files of a scope: chains, gaps, missing, altered and planted files. */
export function assessArchive(input: AssessInput): IntegrityReport {
  const findings: Finding[] = [...(input.readFailures ?? []), ...input.digests.flatMap((d) => d.findings)];
  const byTail = new Map(input.digests.map((d) => [keyTail(d.key), d]));

  const chains = new Map<string, ExaminedDigest[]>();
  for (const d of input.digests) {
    const chain = d.name?.chain ?? '(unnamed digests)';
    chains.set(chain, [...(chains.get(chain) ?? []), d]);
  }
  const summaries: ChainSummary[] = [];
  for (const [chain, digests] of chains) {
    digests.sort((a, b) => endOf(a) - endOf(b));
    findings.push(...checkChain(chain, digests, byTail, input.from));
    if (input.overdue && digests[0]?.name && !digests[0].name.backfill) {
      const newest = digests[digests.length - 1];
      const age = input.overdue.now - endOf(newest);
      if (age > input.overdue.afterMs) {
        findings.push({
          kind: 'digest-overdue',
          severity: 'error',
          file: newest.key,
          chain,
          message: `the newest digest of this chain ends at ${iso(endOf(newest))}, ${Math.round(age / 60_000)} minutes ago; digests arrive hourly, so delivery or logging has stopped`,
        });
      }
    }
    const name = digests[0]?.name;
    if (name) {
      const starts = digests.map(startOf).filter(Number.isFinite);
      summaries.push({
        chain,
        account: name.account,
        region: name.region,
        trailName: name.trailName,
        backfill: name.backfill,
        digests: digests.length,
        from: starts.length > 0 ? iso(Math.min(...starts)) : undefined,
        to: iso(endOf(digests[digests.length - 1])),
      });
    }
  }

  const logs = checkLogFiles(input);
  findings.push(...logs.findings);
  findings.sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0,
  );

  const count = (status: DigestStatus) => input.digests.filter((d) => d.status === status).length;
  const errors = findings.filter((f) => f.severity === 'error').length;
  return {
    status: errors > 0 ? 'FAIL' : 'PASS',
    chains: summaries.sort((a, b) => (a.chain < b.chain ? -1 : 1)),
    counts: {
      digests: input.digests.length,
      digestsVerified: count('verified'),
      digestsUnauthenticated: count('unauthenticated'),
      digestsRejected: count('rejected'),
      digestsUnreadable: count('unreadable'),
      logFilesListed: logs.listed,
      logFilesVerified: logs.verified,
      logFilesNotHashed: logs.notHashed,
      logFilesPending: logs.pending,
      errors,
      warnings: findings.length - errors,
    },
    findings,
  };
}

/** The links between consecutive digests of one chain, oldest first. */
function checkChain(
  chain: string,
  digests: readonly ExaminedDigest[],
  byTail: ReadonlyMap<string, ExaminedDigest>,
  from: number | undefined,
): Finding[] {
  const findings: Finding[] = [];
  const backfill = digests[0]?.name?.backfill ?? false;
  const oldestEnd = digests.length > 0 ? endOf(digests[0]) : Number.POSITIVE_INFINITY;
  digests.forEach((d, i) => {
    const doc = d.document;
    if (!doc) return;
    const previousKey = doc.previousDigestS3Object ?? null;
    if (previousKey === null) {
      // A starting digest: validation or logging started (again) here.
      const earlier = digests.slice(0, i).filter((e) => endOf(e) <= startOf(d));
      const last = earlier[earlier.length - 1];
      if (last && !backfill) {
        findings.push({
          kind: 'chain-restarted',
          severity: 'warning',
          file: d.key,
          chain,
          message: `a new chain starts here: no digest covers ${iso(endOf(last))} to ${doc.digestStartTime} (logging or log file validation was stopped, or the trail recreated), so nothing delivered then is digested`,
        });
      }
      return;
    }
    const previous = byTail.get(keyTail(previousKey));
    if (!previous) {
      const previousEnd = parseDigestKey(previousKey)?.endTime;
      // Out of scope when it ends before the window (or, without one, before the oldest digest read).
      const inScope = previousEnd !== undefined && (from !== undefined ? previousEnd >= from : previousEnd > oldestEnd);
      if (inScope) {
        findings.push({
          kind: 'digest-missing',
          severity: 'error',
          file: previousKey,
          chain,
          message: `digest file named as previous by ${d.key} is not in the archive: it was deleted, and the log files it listed are no longer covered`,
        });
      }
      return;
    }
    if (!previous.document) return;
    const problems: string[] = [];
    if (doc.previousDigestHashValue && previous.sha256 && doc.previousDigestHashValue.toLowerCase() !== previous.sha256)
      problems.push(`its previousDigestHashValue is not the SHA-256 of ${previous.key}`);
    if (previous.signature && doc.previousDigestSignature !== previous.signature)
      problems.push(`its previousDigestSignature is not the signature of ${previous.key}`);
    if (problems.length > 0) {
      findings.push({
        kind: 'digest-chain-broken',
        severity: 'error',
        file: d.key,
        chain,
        message: `the chain is broken: ${problems.join(', and ')} (one of the two was replaced)`,
      });
    }
    const gap = startOf(d) - endOf(previous);
    if (!backfill && gap > CONTIGUITY_TOLERANCE_MS) {
      findings.push({
        kind: 'digest-gap',
        severity: 'error',
        file: d.key,
        chain,
        message: `no digest covers ${iso(endOf(previous))} to ${doc.digestStartTime} (${Math.round(gap / 3_600_000)} h), although CloudTrail writes one every hour, empty or not`,
      });
    }
  });
  return findings;
}

interface LogCheck {
  readonly findings: Finding[];
  readonly listed: number;
  readonly verified: number;
  readonly notHashed: number;
  readonly pending: number;
}

/** Listed files against present files: missing, altered, planted. */
function checkLogFiles(input: AssessInput): LogCheck {
  const findings: Finding[] = [];
  const present = new Map(input.logFiles.map((key) => [keyTail(key), key]));
  const listed = new Map<string, { digest: ExaminedDigest; hashValue: string; s3Object: string }>();
  for (const d of input.digests) {
    if (!d.document || (d.status !== 'verified' && d.status !== 'unauthenticated')) continue;
    if (input.listingsOf && !input.listingsOf.has(d.key)) continue;
    for (const f of d.document.logFiles) {
      const tail = keyTail(f.s3Object);
      if (!listed.has(tail))
        listed.set(tail, { digest: d, hashValue: f.hashValue.toLowerCase(), s3Object: f.s3Object });
    }
  }

  let verified = 0;
  let notHashed = 0;
  for (const [tail, entry] of listed) {
    const chain = entry.digest.name?.chain;
    const at = present.get(tail);
    const finding = (kind: FindingKind, file: string, message: string): Finding => ({
      kind,
      severity: 'error',
      file,
      message,
      ...(chain ? { chain } : {}),
    });
    if (at === undefined) {
      findings.push(
        finding(
          'log-missing',
          entry.s3Object,
          `log file listed by ${entry.digest.key} is not in the archive: it was deleted`,
        ),
      );
      continue;
    }
    const hash = input.logHashes?.get(at);
    if (!hash) {
      notHashed++;
    } else if (!hash.ok) {
      findings.push(finding('log-unreadable', at, `log file listed by ${entry.digest.key} ${hash.reason}`));
    } else if (hash.sha256 !== entry.hashValue) {
      findings.push(
        finding(
          'log-hash-mismatch',
          at,
          `log file content was changed: its SHA-256 is ${hash.sha256}, ${entry.digest.key} lists ${entry.hashValue}`,
        ),
      );
    } else if (hash.trailingBytes > 0) {
      findings.push(
        finding(
          'log-trailing-data',
          at,
          `log file has ${hash.trailingBytes} bytes after the end of its gzip stream, which CloudTrail never writes`,
        ),
      );
    } else {
      verified++;
    }
  }

  let pending = 0;
  if (input.checkUnlisted ?? true) {
    const coverage = digestCoverage(input.digests);
    const pendingMs = input.pendingMs ?? 60 * 60_000;
    for (const [tail, key] of present) {
      if (listed.has(tail)) continue;
      const info = classifyKey(key);
      if (info.kind !== 'log' || !info.account || !info.region || info.deliveredAt === undefined) continue;
      const partition = logPartition(info.prefix, info.organizationId, info.account, info.region);
      const span = coverage.get(partition);
      if (span && info.deliveredAt < span.from) continue; // before the digests read: out of scope
      if (span && info.deliveredAt > span.to - pendingMs) {
        pending++;
        continue;
      }
      findings.push({
        kind: 'log-unlisted',
        severity: 'error',
        file: key,
        message: span
          ? `log file delivered at ${iso(info.deliveredAt)}, inside the span the digests of ${partition} cover (${iso(span.from)} to ${iso(span.to)}), is listed by no authentic digest: it was planted (or its digest is missing or forged)`
          : `log file is covered by no digest: there is none for ${partition}, so nothing vouches for it`,
      });
    }
  }
  return { findings, listed: listed.size, verified, notHashed, pending };
}

/** The span of delivery time the readable digests of each log partition cover. */
function digestCoverage(digests: readonly ExaminedDigest[]): Map<string, { from: number; to: number }> {
  const spans = new Map<string, { from: number; to: number }>();
  for (const d of digests) {
    if (!d.name || !d.document) continue;
    const span = spans.get(d.name.partition);
    const from = startOf(d);
    const to = endOf(d);
    spans.set(d.name.partition, span ? { from: Math.min(span.from, from), to: Math.max(span.to, to) } : { from, to });
  }
  return spans;
}

function endOf(d: ExaminedDigest): number {
  const fromDocument = d.document ? Date.parse(d.document.digestEndTime) : Number.NaN;
  return Number.isFinite(fromDocument) ? fromDocument : (d.name?.endTime ?? 0);
}

function startOf(d: ExaminedDigest): number {
  const fromDocument = d.document ? Date.parse(d.document.digestStartTime) : Number.NaN;
  return Number.isFinite(fromDocument) ? fromDocument : endOf(d) - 3_600_000;
}

function iso(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}
