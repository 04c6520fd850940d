/**
 * Orchestrates digest-chain verification over an archive (S3 or a local copy): find the digests and log files in
 * scope, read them through the {@link ArchiveReader}, fetch the public keys, and hand everything to the pure verifier
 * (`lambda/core/digest`). Three entry points, one per use:
 * - {@link verifyFiles}: every digest and log file given (the offline CLI: a downloaded tree);
 * - {@link verifyWindow}: the delivery between two times (the online CLI and the scheduled sweep);
 * - {@link verifyDigestDelivery}: one newly delivered digest, its link to the previous one and the log files it lists
 *   (the EventBridge-triggered verifier).
 *
 * A file that cannot be read is a finding, never an aborted run.
 */

import {
  assessArchive,
  type DigestInput,
  examineDigests,
  type Finding,
  hashLogFile,
  type IntegrityReport,
  keyTail,
  type LogHash,
  parseDigestKey,
  readDigest,
} from '../core/digest';
import { classifyKey } from '../core/keys';
import type { ArchiveReader, KeyNeed, PublicKeySource } from './ports';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Options common to every entry point. */
export interface VerifyOptions {
  /**
   * Read each listed log file and compare its SHA-256. False checks presence only, against the listing: the sweep
   * re-checks files the per-digest verifier already hashed on arrival.
   * @default true
   */
  readonly hashLogs?: boolean;
  /**
   * Files read at once.
   * @default 8
   */
  readonly concurrency?: number;
  /**
   * The time now and how old a chain's newest digest may be.
   * @default - no overdue check
   */
  readonly overdue?: { readonly now: number; readonly afterMs: number };
}

/** Verifies the given digest and log files (everything else is ignored). */
export async function verifyFiles(
  reader: ArchiveReader,
  keys: PublicKeySource,
  files: { readonly digests: readonly string[]; readonly logs: readonly string[] },
  options: VerifyOptions = {},
): Promise<IntegrityReport> {
  return verifyKeys(reader, keys, files.digests, files.logs, { ...options, checkUnlisted: true });
}

/** The delivery window of {@link verifyWindow}. */
export interface Window {
  /** Epoch ms. */
  readonly from: number;
  /** Epoch ms. */
  readonly to: number;
  /**
   * Only under this key prefix (e.g. `AWSLogs/o-…/111122223333/`), ending in `/`; it must contain `AWSLogs/`.
   * @default 'AWSLogs/'
   */
  readonly prefix?: string;
}

/**
 * Verifies the digests that end within the window (and the hour after, where late log files of its last hour are
 * listed) and the log files delivered within it, in every account and Region found under the prefix.
 */
export async function verifyWindow(
  reader: ArchiveReader,
  keys: PublicKeySource,
  window: Window,
  options: VerifyOptions = {},
): Promise<IntegrityReport> {
  const digests: string[] = [];
  const logs: string[] = [];
  for (const { digestFolder, logFolder } of await discover(reader, window)) {
    for (const day of days(window.from - DAY, window.to + HOUR)) {
      for await (const key of reader.list(`${digestFolder}${day}/`)) {
        const end = parseDigestKey(key)?.endTime;
        if (end !== undefined && end >= window.from && end <= window.to + HOUR) digests.push(key);
      }
      for await (const key of reader.list(`${logFolder}${day}/`)) {
        const delivered = classifyKey(key).deliveredAt;
        // A digest ending early in the window lists files delivered up to an hour before it.
        if (delivered !== undefined && delivered >= window.from - HOUR && delivered <= window.to) logs.push(key);
      }
    }
  }
  return verifyKeys(reader, keys, digests, logs, { ...options, from: window.from, checkUnlisted: true });
}

/**
 * Verifies one delivered digest: its signature, its link to the previous digest (which must exist, be authentic and
 * hash to what this one says) and every log file it lists. Planted files and overdue chains are the sweep's job.
 */
export async function verifyDigestDelivery(
  reader: ArchiveReader,
  keys: PublicKeySource,
  digestKey: string,
  options: VerifyOptions = {},
): Promise<IntegrityReport> {
  const failures: Finding[] = [];
  const digest = await readOrFail(reader, digestKey, failures);
  if (!digest) {
    if (failures.length === 0) {
      failures.push({
        kind: 'digest-missing',
        severity: 'error',
        file: digestKey,
        message: 'digest file was delivered but is no longer in the archive: it was deleted',
      });
    }
    return assessArchive({ digests: [], logFiles: [], checkUnlisted: false, readFailures: failures });
  }
  const read = readDigest(digestKey, digest.body);
  const document = read.ok ? read.document : undefined;
  // The previous digest and the listed log files are read by the keys this digest gives them.
  const previous = document?.previousDigestS3Object;
  const digestKeys = previous ? [previous, digestKey] : [digestKey];
  const listed = (document?.logFiles ?? []).map((f) => f.s3Object);
  const start = document ? Date.parse(document.digestStartTime) : Number.NaN;
  return verifyKeys(reader, keys, digestKeys, listed, {
    ...options,
    // The previous digest ends where this one starts: in scope (reported when missing); the one before it is not.
    from: Number.isFinite(start) ? start - HOUR / 2 : undefined,
    checkUnlisted: false,
    listingsOf: new Set([digestKey]),
    prefetched: new Map([[digestKey, digest]]),
  });
}

interface KeysOptions extends VerifyOptions {
  readonly from?: number;
  readonly checkUnlisted: boolean;
  readonly listingsOf?: ReadonlySet<string>;
  readonly prefetched?: ReadonlyMap<string, { body: Uint8Array; metadata?: Readonly<Record<string, string>> }>;
}

async function verifyKeys(
  reader: ArchiveReader,
  keys: PublicKeySource,
  digestKeys: readonly string[],
  logKeys: readonly string[],
  options: KeysOptions,
): Promise<IntegrityReport> {
  const concurrency = options.concurrency ?? 8;
  const failures: Finding[] = [];
  const inputs: DigestInput[] = [];
  await forEachLimited(unique(digestKeys), concurrency, async (key) => {
    const stored = options.prefetched?.get(key) ?? (await readOrFail(reader, key, failures));
    if (stored) inputs.push({ key, bucket: reader.bucket, body: stored.body, metadata: stored.metadata });
  });
  inputs.sort((a, b) => (a.key < b.key ? -1 : 1));

  const ring = await keys.ringFor(keyNeeds(inputs));
  const digests = examineDigests(inputs, ring);

  // Hash what the readable digests list. A listed file that turns out not to be there is not present.
  const listed = new Set<string>();
  for (const d of digests)
    if (!options.listingsOf || options.listingsOf.has(d.key))
      for (const f of d.document?.logFiles ?? []) listed.add(keyTail(f.s3Object));
  const present = new Set(logKeys);
  const logHashes = new Map<string, LogHash>();
  const hashLogs = options.hashLogs ?? true;
  if (hashLogs) {
    const toHash = [...present].filter((key) => listed.has(keyTail(key)));
    await forEachLimited(toHash, concurrency, async (key) => {
      let stream: AsyncIterable<Uint8Array> | undefined;
      try {
        stream = await reader.openLog(key);
      } catch (e) {
        logHashes.set(key, { ok: false, reason: `cannot be read (${(e as Error).message})` });
        return;
      }
      if (stream) logHashes.set(key, await hashLogFile(stream));
      else present.delete(key);
    });
  }
  return assessArchive({
    digests,
    logFiles: [...present],
    logHashes: hashLogs ? logHashes : undefined,
    from: options.from,
    checkUnlisted: options.checkUnlisted,
    listingsOf: options.listingsOf,
    overdue: options.overdue,
    readFailures: failures,
  });
}

/** The key each digest needs, with the Region and time it was signed in (for ListPublicKeys). */
function keyNeeds(inputs: readonly DigestInput[]): KeyNeed[] {
  const needs: KeyNeed[] = [];
  for (const input of inputs) {
    const read = readDigest(input.key, input.body);
    const name = parseDigestKey(input.key);
    if (read.ok && name) {
      needs.push({
        fingerprint: read.document.digestPublicKeyFingerprint,
        region: name.region,
        signedAt: name.endTime,
      });
    }
  }
  return needs;
}

async function readOrFail(
  reader: ArchiveReader,
  key: string,
  failures: Finding[],
): Promise<{ body: Uint8Array; metadata?: Readonly<Record<string, string>> } | undefined> {
  try {
    return await reader.readDigest(key);
  } catch (e) {
    failures.push({
      kind: 'digest-unreadable',
      severity: 'error',
      file: key,
      message: `digest file cannot be read (${(e as Error).message})`,
    });
    return undefined;
  }
}

/** The digest and log folders of every account and Region under the window's prefix. */
async function discover(reader: ArchiveReader, window: Window): Promise<{ digestFolder: string; logFolder: string }[]> {
  const root = window.prefix ?? 'AWSLogs/';
  if (!root.includes('AWSLogs/') || !root.endsWith('/'))
    throw new Error(`prefix "${root}" must contain "AWSLogs/" and end with "/"`);
  // Down to the account folders: AWSLogs/<account>/ or AWSLogs/<o-id>/<account>/.
  const accounts: string[] = [];
  const visit = async (folder: string, depth: number): Promise<void> => {
    if (/\/\d{12}\/$/.test(folder)) {
      accounts.push(folder);
      return;
    }
    if (depth > 1) return;
    for (const child of await reader.listFolders(folder))
      if (/\/(\d{12}|o-[a-z0-9]{4,32})\/$/.test(child)) await visit(child, depth + 1);
  };
  await visit(root, 0);
  const folders: { digestFolder: string; logFolder: string }[] = [];
  for (const account of accounts) {
    for (const regionFolder of await reader.listFolders(`${account}CloudTrail-Digest/`)) {
      const region = regionFolder.slice(`${account}CloudTrail-Digest/`.length, -1);
      folders.push({ digestFolder: regionFolder, logFolder: `${account}CloudTrail/${region}/` });
    }
  }
  return folders;
}

/** The `YYYY/MM/DD` folders from `from` to `to`, UTC. */
function days(from: number, to: number): string[] {
  const out: string[] = [];
  for (let t = Math.floor(from / DAY) * DAY; t <= to; t += DAY)
    out.push(new Date(t).toISOString().slice(0, 10).replace(/-/g, '/'));
  return out;
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

/** Runs `task` over `items`, at most `limit` at a time. */
async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
