/**
 * The online verification path against s3rver: the S3 adapter (listing, digest metadata, log streams) and the three
 * orchestrations — a window (CLI online, sweep), one delivered digest (the EventBridge-triggered verifier).
 */
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3ArchiveReader } from '../../lambda/adapters/s3-archive-reader';
import { PublicKeyRing } from '../../lambda/core/digest';
import type { PublicKeySource } from '../../lambda/integrity/ports';
import { verifyDigestDelivery, verifyWindow } from '../../lambda/integrity/verify-archive';
import { DeliveryTree, generateSigningKey, listPublicKeysJson, type SigningKey } from '../support/digest-tree';
import { type S3StandIn, startS3 } from '../support/stand-ins';

const BUCKET = 'archive-bucket';
const HOUR = 3_600_000;
const START = Date.UTC(2024, 2, 1, 0, 1, 31);

let s3: S3StandIn;
let key: SigningKey;
let keys: PublicKeySource;
let account: DeliveryTree;
let organization: DeliveryTree;

async function put(tree: DeliveryTree): Promise<void> {
  for (const [k, o] of tree.objects) {
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: o.body, Metadata: o.metadata }));
  }
}

async function remove(k: string): Promise<void> {
  await s3.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: k }));
}

beforeAll(async () => {
  s3 = await startS3([BUCKET]);
  key = generateSigningKey();
  const ring = PublicKeyRing.fromJson(listPublicKeysJson(key));
  keys = { ringFor: async () => ring };
  account = new DeliveryTree(key, { bucket: BUCKET, hours: 3 });
  organization = new DeliveryTree(key, {
    bucket: BUCKET,
    hours: 3,
    account: '222233334444',
    region: 'us-east-1',
    organizationId: 'o-a1b2c3d4e5',
  });
  await put(account);
  await put(organization);
});
afterAll(async () => s3.stop());

describe('S3ArchiveReader against s3rver', () => {
  test('reads a digest with the signature CloudTrail puts in its user metadata', async () => {
    const reader = new S3ArchiveReader(s3.client, BUCKET);
    const digest = await reader.readDigest(account.digestKeys[0]);
    expect(digest?.metadata).toEqual(account.object(account.digestKeys[0]).metadata);
    expect(Buffer.from(digest?.body ?? [])).toEqual(account.object(account.digestKeys[0]).body);
  });

  test('answers undefined for a digest or log file that is not there', async () => {
    const reader = new S3ArchiveReader(s3.client, BUCKET);
    expect(await reader.readDigest('AWSLogs/111122223333/CloudTrail-Digest/none.json.gz')).toBeUndefined();
    expect(await reader.openLog('AWSLogs/111122223333/CloudTrail/none.json.gz')).toBeUndefined();
  });

  test('lists folders level by level, as discovery walks them', async () => {
    const reader = new S3ArchiveReader(s3.client, BUCKET);
    expect(await reader.listFolders('AWSLogs/')).toEqual(['AWSLogs/111122223333/', 'AWSLogs/o-a1b2c3d4e5/']);
    expect(await reader.listFolders('AWSLogs/111122223333/CloudTrail-Digest/')).toEqual([
      'AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/',
    ]);
  });

  test('fails reading when S3 refuses the caller, and the verification reports it as a finding', async () => {
    const denied = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'NOT-ALLOWED', secretAccessKey: 'x' },
    });
    const reader = new S3ArchiveReader(denied, BUCKET);

    await expect(reader.readDigest(account.digestKeys[0])).rejects.toThrow();
    const report = await verifyDigestDelivery(reader, keys, account.digestKeys[2]);
    denied.destroy();

    expect(report.status).toBe('FAIL');
    expect(report.findings.map((f) => [f.kind, f.file])).toEqual([['digest-unreadable', account.digestKeys[2]]]);
    expect(report.findings[0].message).toMatch(/cannot be read/);
  });
});

describe('verifyWindow (online CLI, scheduled sweep)', () => {
  test('verifies every account and Region of the bucket, organization paths included', async () => {
    const report = await verifyWindow(new S3ArchiveReader(s3.client, BUCKET), keys, {
      from: START,
      to: START + 3 * HOUR,
    });

    expect(report.findings).toEqual([]);
    expect(report.chains.map((c) => c.chain)).toEqual([
      '111122223333/eu-west-1/trailsight',
      '222233334444/us-east-1/trailsight',
    ]);
    expect(report.counts).toMatchObject({ digests: 6, digestsVerified: 6, logFilesListed: 12, logFilesVerified: 12 });
  });

  test('checks presence only with hashLogs false, and still finds a planted file', async () => {
    const planted = account.logKeysByHour[0][0].replace(/_[0-9a-f]{16}\.json\.gz$/, '_PLANTEDplanted00.json.gz');
    await s3.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: planted, Body: account.object(account.logKeysByHour[0][0]).body }),
    );
    try {
      const report = await verifyWindow(
        new S3ArchiveReader(s3.client, BUCKET),
        keys,
        { from: START, to: START + 3 * HOUR, prefix: 'AWSLogs/111122223333/' },
        { hashLogs: false },
      );
      expect(report.findings.map((f) => [f.kind, f.file])).toEqual([['log-unlisted', planted]]);
      expect(report.counts).toMatchObject({ logFilesVerified: 0, logFilesNotHashed: 6 });
    } finally {
      await remove(planted);
    }
  });

  test('reports a chain whose digests stopped arriving', async () => {
    const report = await verifyWindow(
      new S3ArchiveReader(s3.client, BUCKET),
      keys,
      { from: START, to: START + 8 * HOUR, prefix: 'AWSLogs/111122223333/' },
      { overdue: { now: START + 8 * HOUR, afterMs: 150 * 60_000 } },
    );
    expect(report.findings.map((f) => [f.kind, f.file])).toEqual([['digest-overdue', account.digestKeys[2]]]);
  });
});

describe('verifyDigestDelivery (the digest just delivered)', () => {
  test('verifies its signature, its link to the previous digest and every log file it lists', async () => {
    const report = await verifyDigestDelivery(new S3ArchiveReader(s3.client, BUCKET), keys, account.digestKeys[2]);

    expect(report.findings).toEqual([]);
    expect(report.counts).toMatchObject({ digests: 2, digestsVerified: 2, logFilesListed: 2, logFilesVerified: 2 });
  });

  test('reports a listed log file deleted before the digest arrived', async () => {
    const deleted = organization.logKeysByHour[2][1];
    await remove(deleted);
    try {
      const report = await verifyDigestDelivery(
        new S3ArchiveReader(s3.client, BUCKET),
        keys,
        organization.digestKeys[2],
      );
      expect(report.findings.map((f) => [f.kind, f.file])).toEqual([['log-missing', deleted]]);
    } finally {
      await s3.client.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: deleted, Body: organization.object(deleted).body }),
      );
    }
  });

  test('reports the previous digest missing', async () => {
    const previous = organization.digestKeys[1];
    await remove(previous);
    try {
      const report = await verifyDigestDelivery(
        new S3ArchiveReader(s3.client, BUCKET),
        keys,
        organization.digestKeys[2],
      );
      expect(report.findings.map((f) => [f.kind, f.file])).toEqual([['digest-missing', previous]]);
    } finally {
      const o = organization.object(previous);
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: previous, Body: o.body, Metadata: o.metadata }));
    }
  });

  test('reports a notified digest that is gone by the time it is read', async () => {
    const gone = account.digestKeys[2].replace('T030131Z', 'T040131Z');
    const report = await verifyDigestDelivery(new S3ArchiveReader(s3.client, BUCKET), keys, gone);
    expect(report.findings.map((f) => [f.kind, f.file])).toEqual([['digest-missing', gone]]);
  });

  test('reports a digest that is not a digest, without crashing', async () => {
    const bogus = account.digestKeys[0].replace('T010131Z', 'T230131Z');
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: bogus, Body: 'not a digest' }));
    try {
      const report = await verifyDigestDelivery(new S3ArchiveReader(s3.client, BUCKET), keys, bogus);
      expect(report.findings.map((f) => [f.kind, f.file])).toEqual([['digest-malformed', bogus]]);
    } finally {
      await remove(bogus);
    }
  });
});
