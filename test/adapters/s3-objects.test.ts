import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3ObjectSource } from '../../lambda/adapters/s3-objects';
import { ObjectReadError } from '../../lambda/pipeline/ports';
import { type S3StandIn, startS3 } from '../support/stand-ins';

// A real delivery file (flaws2-cloud, ../shared/data/flaws2-cloud/SOURCE.md).
const DATA = join(__dirname, '../../../shared/data/flaws2-cloud');
const KEY =
  'AWSLogs/653711331788/CloudTrail/us-east-1/2018/11/28/653711331788_CloudTrail_us-east-1_20181128T2305Z_83VTWZ8Z0kiEC7Lq.json.gz';

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describe('S3ObjectSource against s3rver', () => {
  let s3: S3StandIn;
  const bytes = readFileSync(join(DATA, KEY));

  beforeAll(async () => {
    s3 = await startS3(['archive']);
    await s3.client.send(new PutObjectCommand({ Bucket: 'archive', Key: KEY, Body: bytes }));
  });
  afterAll(async () => s3.stop());

  test('streams a delivered object byte for byte', async () => {
    const source = new S3ObjectSource(s3.client);

    const opened = await source.open({ bucket: 'archive', key: KEY });

    expect(opened.contentLength).toBe(bytes.length);
    expect(await collect(opened.body)).toEqual(bytes);
  });

  test('reads when the notified ETag still matches', async () => {
    const source = new S3ObjectSource(s3.client);
    const { etag } = await source.open({ bucket: 'archive', key: KEY });

    const opened = await source.open({ bucket: 'archive', key: KEY, etag: etag?.replace(/"/g, '') });

    expect(await collect(opened.body)).toEqual(bytes);
  });

  test('fails with kind not-found for a missing object', async () => {
    const source = new S3ObjectSource(s3.client);

    const error = await source.open({ bucket: 'archive', key: 'AWSLogs/gone.json.gz' }).catch((e) => e);

    expect(error).toBeInstanceOf(ObjectReadError);
    expect(error.kind).toBe('not-found');
  });

  test('fails with kind too-large before reading an oversized object', async () => {
    const source = new S3ObjectSource(s3.client, { maxObjectBytes: 100 });

    const error = await source.open({ bucket: 'archive', key: KEY }).catch((e) => e);

    expect(error).toMatchObject({ kind: 'too-large' });
    expect(error.message).toMatch(/limit is 100/);
  });

  test('fails with kind access-denied when S3 refuses the caller', async () => {
    // s3rver only accepts the access key S3RVER: any other key is a 403, like a missing grant.
    const denied = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'NOT-ALLOWED', secretAccessKey: 'x' },
    });
    const source = new S3ObjectSource(denied);

    const error = await source.open({ bucket: 'archive', key: KEY }).catch((e) => e);
    denied.destroy();

    expect(error).toMatchObject({ kind: 'access-denied' });
    expect(error.message).toMatch(/kms:Decrypt/);
  });
});
