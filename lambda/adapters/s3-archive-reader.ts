/**
 * The archive in S3, for the integrity verifier: lists keys and folders, reads digests with their user metadata
 * (where CloudTrail puts the signature: `x-amz-meta-signature`, `x-amz-meta-signature-algorithm`), streams log files.
 */
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsCommand,
  paginateListObjectsV2,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { ArchiveReader, StoredDigest } from '../integrity/ports';
import { ObjectReadError } from '../pipeline/ports';
import { S3ObjectSource } from './s3-objects';

/** Digest files are KB to a few MB; a larger object under CloudTrail-Digest/ is not read whole. */
const MAX_DIGEST_OBJECT_BYTES = 64 * 1024 * 1024;

export class S3ArchiveReader implements ArchiveReader {
  private readonly objects: S3ObjectSource;

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {
    this.objects = new S3ObjectSource(client);
  }

  async *list(prefix: string): AsyncIterable<string> {
    for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: prefix })) {
      for (const o of page.Contents ?? []) if (o.Key) yield o.Key;
    }
  }

  /**
   * One request per folder: list one key, take its folder, continue after everything in it (a "skip scan"). Not a
   * Delimiter listing, whose nested common prefixes the s3rver stand-in drops, and ListObjects (V1) with a Marker, as
   * `aws cloudtrail validate-logs` lists digests, because s3rver cannot truncate a V2 listing. A folder level holds tens
   * of accounts or Regions, so the request count stays small.
   */
  async listFolders(prefix: string): Promise<string[]> {
    const folders: string[] = [];
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListObjectsCommand({ Bucket: this.bucket, Prefix: prefix, MaxKeys: 1, Marker: startAfter }),
      );
      const key = page.Contents?.[0]?.Key;
      if (!key) return folders;
      const slash = key.indexOf('/', prefix.length);
      if (slash < 0) {
        startAfter = key; // an object right under the prefix, not in a folder
        continue;
      }
      const folder = key.slice(0, slash + 1);
      folders.push(folder);
      // Every key in the folder sorts before its name with the final "/" (0x2F) replaced by "0" (0x30).
      startAfter = `${folder.slice(0, -1)}0`;
    }
  }

  async readDigest(key: string): Promise<StoredDigest | undefined> {
    let response: GetObjectCommandOutput;
    try {
      response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    if ((response.ContentLength ?? 0) > MAX_DIGEST_OBJECT_BYTES) {
      response.Body?.transformToWebStream().cancel();
      throw new Error(`object is ${response.ContentLength} bytes, more than a digest file can be`);
    }
    const body = (await response.Body?.transformToByteArray()) ?? new Uint8Array();
    return { body, metadata: response.Metadata };
  }

  async openLog(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    try {
      return (await this.objects.open({ bucket: this.bucket, key })).body;
    } catch (error) {
      if (error instanceof ObjectReadError && error.kind === 'not-found') return undefined;
      throw error;
    }
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.$metadata?.httpStatusCode === 404);
}
