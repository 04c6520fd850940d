/** Runs the pure verifier over an in-memory delivery tree, as the adapters would feed it. */

import {
  type AssessInput,
  assessArchive,
  examineDigests,
  hashLogFile,
  type IntegrityReport,
  type LogHash,
  PublicKeyRing,
  parseDigestKey,
} from '../../lambda/core/digest';
import { classifyKey } from '../../lambda/core/keys';
import { type DeliveryTree, listPublicKeysJson, type SigningKey } from '../support/digest-tree';

export interface RunOptions extends Omit<AssessInput, 'digests' | 'logFiles' | 'logHashes'> {
  /** Keys to verify with. @default the tree's own key */
  readonly keys?: SigningKey[];
  /** Drop the S3 metadata (signatures) of these digests, or of all but the newest. */
  readonly withoutMetadata?: 'all-but-newest' | 'all';
  /** Read as if from this bucket. @default the tree's bucket */
  readonly bucket?: string;
}

async function* once(body: Buffer): AsyncIterable<Uint8Array> {
  yield body;
}

export async function verifyTree(tree: DeliveryTree, options: RunOptions = {}): Promise<IntegrityReport> {
  const ring = PublicKeyRing.fromJson(listPublicKeysJson(...(options.keys ?? [tree.key])));
  const digestKeys = [...tree.objects.keys()].filter((k) => parseDigestKey(k)).sort();
  const newest = digestKeys[digestKeys.length - 1];
  const digests = examineDigests(
    digestKeys.map((key) => {
      const o = tree.object(key);
      const keepMetadata =
        options.withoutMetadata === undefined || (options.withoutMetadata === 'all-but-newest' && key === newest);
      return {
        key,
        bucket: options.bucket ?? tree.bucket,
        body: o.body,
        metadata: keepMetadata ? o.metadata : undefined,
      };
    }),
    ring,
  );
  const logFiles = [...tree.objects.keys()].filter((k) => classifyKey(k).kind === 'log');
  const logHashes = new Map<string, LogHash>();
  for (const key of logFiles) logHashes.set(key, await hashLogFile(once(tree.object(key).body)));
  return assessArchive({ ...options, digests, logFiles, logHashes });
}

/** Findings as `kind file` lines, for readable assertions. */
export function kindsAndFiles(report: IntegrityReport): string[] {
  return report.findings.map((f) => `${f.kind} ${f.file}`);
}
