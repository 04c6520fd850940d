/**
 * Lists object keys under a prefix, a page at a time, in S3's lexicographic order (which, under one
 * `AWSLogs/<account>/CloudTrail/<region>/` folder, is delivery order: date folders, then file names that
 * start with the delivery timestamp).
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { KeyLister, KeyPage } from '../pipeline/ports';

export class S3KeyLister implements KeyLister {
  constructor(private readonly client: S3Client) {}

  async list(request: { bucket: string; prefix: string; startAfter?: string; maxKeys?: number }): Promise<KeyPage> {
    const out = await this.client.send(
      new ListObjectsV2Command({
        Bucket: request.bucket,
        Prefix: request.prefix,
        ...(request.startAfter ? { StartAfter: request.startAfter } : {}),
        MaxKeys: request.maxKeys ?? 1000,
      }),
    );
    const objects = (out.Contents ?? []).flatMap((o) =>
      o.Key ? [{ key: o.Key, etag: o.ETag?.replace(/"/g, ''), size: o.Size }] : [],
    );
    return { objects, next: out.IsTruncated && objects.length > 0 ? objects[objects.length - 1].key : undefined };
  }
}
