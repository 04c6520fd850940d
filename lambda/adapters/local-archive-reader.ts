/**
 * A local copy of the archive, for offline verification: the files under the given paths (any depth), keyed from
 * `AWSLogs/` on so digests' S3 keys find them wherever the copy was put (CloudTrail User Guide, "Validating digest
 * and log files offline", path resolution). A digest's S3 metadata, which holds its signature, is read from a
 * `<digest file>.metadata.json` beside it: the output of `aws s3api head-object --query Metadata`.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { keyTail } from '../core/digest';
import type { ArchiveReader, StoredDigest } from '../integrity/ports';
import { listLocalFiles } from './local-files';

/** Suffix of the file holding a digest's S3 user metadata. */
export const METADATA_SUFFIX = '.metadata.json';

export class LocalArchiveReader implements ArchiveReader {
  readonly bucket = undefined;
  /** Problems reading sidecar metadata files, one sentence each. */
  readonly problems: string[] = [];

  private constructor(private readonly paths: ReadonlyMap<string, string>) {}

  /** Indexes the files under `roots`. */
  static async open(roots: readonly string[]): Promise<LocalArchiveReader> {
    const paths = new Map<string, string>();
    for (const file of await listLocalFiles(roots)) paths.set(keyTail(resolve(file.path)), file.path);
    return new LocalArchiveReader(paths);
  }

  /** Every key found. */
  keys(): string[] {
    return [...this.paths.keys()].sort();
  }

  async *list(prefix: string): AsyncIterable<string> {
    for (const key of this.keys()) if (key.startsWith(prefix)) yield key;
  }

  async listFolders(prefix: string): Promise<string[]> {
    const folders = new Set<string>();
    for (const key of this.paths.keys()) {
      if (!key.startsWith(prefix)) continue;
      const slash = key.indexOf('/', prefix.length);
      if (slash > 0) folders.add(key.slice(0, slash + 1));
    }
    return [...folders].sort();
  }

  async readDigest(key: string): Promise<StoredDigest | undefined> {
    const path = this.paths.get(keyTail(key));
    if (!path) return undefined;
    const body = await readFile(path);
    const sidecar = this.paths.get(`${keyTail(key)}${METADATA_SUFFIX}`);
    return { body, metadata: sidecar ? await this.readMetadata(sidecar) : undefined };
  }

  async openLog(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    const path = this.paths.get(keyTail(key));
    return path ? createReadStream(path) : undefined;
  }

  private async readMetadata(path: string): Promise<Record<string, string> | undefined> {
    try {
      const value = JSON.parse(await readFile(path, 'utf8'));
      if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, string>;
      this.problems.push(`${path}: not a JSON object of S3 metadata; ignored`);
    } catch (e) {
      this.problems.push(`${path}: not readable JSON (${(e as Error).message}); ignored`);
    }
    return undefined;
  }
}
