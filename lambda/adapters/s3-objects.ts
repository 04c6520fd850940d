/**
 * Reads delivered objects from S3 as byte streams, so a 50 MB-gzip log file is never held whole.
 *
 * S3 errors are translated into typed failures the handler can act on: a missing object (deleted or
 * expired before we got to it) is a counted skip, access denied is a configuration fault that must
 * retry and then reach the DLQ with its reason, and an oversized object is refused before reading.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { ObjectReadError, type ObjectRef, type ObjectSource, type OpenedObject } from '../pipeline/ports';

export interface S3ObjectSourceOptions {
  /**
   * Objects larger than this are refused without reading (CloudTrail files reach ~50 MB gzipped).
   * @default 1 GiB
   */
  readonly maxObjectBytes?: number;
}

export class S3ObjectSource implements ObjectSource {
  private readonly maxObjectBytes: number;

  constructor(
    private readonly client: S3Client,
    options: S3ObjectSourceOptions = {},
  ) {
    this.maxObjectBytes = options.maxObjectBytes ?? 1024 ** 3;
  }

  async open(ref: ObjectRef): Promise<OpenedObject> {
    let response: GetObjectCommandOutput;
    try {
      response = await this.client.send(
        new GetObjectCommand({
          Bucket: ref.bucket,
          Key: ref.key,
          ...(ref.versionId ? { VersionId: ref.versionId } : {}),
          ...(ref.etag ? { IfMatch: quoteEtag(ref.etag) } : {}),
        }),
      );
    } catch (error) {
      throw translate(error, ref);
    }
    const length = response.ContentLength;
    if (length !== undefined && length > this.maxObjectBytes) {
      (response.Body as Readable | undefined)?.destroy?.();
      throw new ObjectReadError('too-large', ref, `object is ${length} bytes; the limit is ${this.maxObjectBytes}`);
    }
    // In Node the SDK's Body is an IncomingMessage: a Readable, hence an async iterable of Buffers.
    const body = response.Body as unknown as AsyncIterable<Uint8Array> | undefined;
    if (!body || typeof body[Symbol.asyncIterator] !== 'function') {
      throw new ObjectReadError('not-found', ref, 'GetObject returned no body');
    }
    return { body, contentLength: length, etag: response.ETag, versionId: response.VersionId };
  }
}

function quoteEtag(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

function translate(error: unknown, ref: ObjectRef): Error {
  if (error instanceof S3ServiceException) {
    const status = error.$metadata?.httpStatusCode;
    if (error.name === 'NoSuchKey' || error.name === 'NoSuchVersion' || status === 404) {
      return new ObjectReadError('not-found', ref, `${error.name}: the object no longer exists`);
    }
    if (error.name === 'PreconditionFailed' || status === 412) {
      return new ObjectReadError('changed', ref, 'the object changed since it was notified (ETag mismatch)');
    }
    if (status === 403) {
      return new ObjectReadError(
        'access-denied',
        ref,
        `${error.name}: check the function's s3:GetObject grant on the log prefix and kms:Decrypt on the archive key`,
      );
    }
  }
  return error instanceof Error ? error : new Error(String(error));
}
