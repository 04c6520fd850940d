/**
 * Digest files one by one: AWS's documented samples parse, bad input is a finding (never an exception), the signing
 * string is the documented one, public keys load from the CLI's JSON.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  examineDigests,
  PublicKeyRing,
  parseDigestKey,
  readDigest,
  signatureVerifies,
  stringToSign,
} from '../../lambda/core/digest';
import { DeliveryTree, generateSigningKey, listPublicKeysJson, signDigest } from '../support/digest-tree';

// The AWS documentation's digest samples (../shared/data/awsdocs-cloudtrail-user-guide/SOURCE.md; sample code, MIT-0).
const AWS_DOCS = join(__dirname, '../../../shared/data/awsdocs-cloudtrail-user-guide/examples');
const SAMPLE = readFileSync(join(AWS_DOCS, '22_digest_file_sample-digest-file-contents.json'));
const EMPTY = readFileSync(join(AWS_DOCS, '23_digest_file_empty-digest-files.json'));

describe("the AWS documentation's sample digests", () => {
  test('parse, with the documented fields', () => {
    const sample = readDigest('sample', SAMPLE);
    const empty = readDigest('empty', gzipSync(EMPTY));

    expect(sample.ok && sample.document.logFiles).toHaveLength(1);
    expect(sample.ok && sample.document.digestPublicKeyFingerprint).toBe('31e8b5433410dfb61a9dc45cc65b22ff');
    expect(empty.ok && empty.document.logFiles).toEqual([]);
    expect(empty.ok && empty.document.newestEventTime).toBeNull();
  });

  test('name their chain from their key', () => {
    const key = JSON.parse(SAMPLE.toString()).digestS3Object;
    expect(parseDigestKey(key)).toMatchObject({
      account: '111122223333',
      region: 'us-east-2',
      trailName: 'your-trail-name',
      homeRegion: 'us-east-2',
      endTime: Date.UTC(2015, 7, 17, 15, 1, 31),
      backfill: false,
      chain: '111122223333/us-east-2/your-trail-name',
    });
  });

  test('read from where they say they were written, have no signature at hand: unauthenticated, not rejected', () => {
    const document = JSON.parse(SAMPLE.toString());
    const [examined] = examineDigests(
      [{ key: document.digestS3Object, bucket: document.digestS3Bucket, body: SAMPLE }],
      new PublicKeyRing(),
    );
    expect(examined.status).toBe('unauthenticated');
    expect(examined.findings.map((f) => f.kind)).toEqual(['digest-signature-missing']);
  });
});

describe('bad input is a finding with the file, never an exception', () => {
  const ring = new PublicKeyRing();
  const examine = (body: Buffer, metadata?: Record<string, string>) =>
    examineDigests([{ key: 'AWSLogs/x/digest.json.gz', body, metadata }], ring)[0];

  test.each([
    ['a truncated digest', gzipSync(SAMPLE).subarray(0, 40), 'digest-unreadable', /the gzip stream is truncated/],
    [
      'a corrupt gzip stream',
      Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(30, 7)]),
      'digest-unreadable',
      /corrupt/,
    ],
    ['a digest that is not JSON', gzipSync('<html>AccessDenied</html>'), 'digest-malformed', /is not JSON/],
    ['an empty file', Buffer.alloc(0), 'digest-malformed', /is not JSON/],
    ['JSON of the wrong shape', gzipSync('{"Records":[]}'), 'digest-malformed', /digestStartTime: .*digestEndTime/],
    ['a JSON array', gzipSync('[1,2,3]'), 'digest-malformed', /\(root\)/],
    [
      'a log entry without a hash',
      gzipSync(JSON.stringify({ ...JSON.parse(SAMPLE.toString()), logFiles: [{ s3Bucket: 'b', s3Object: 'k' }] })),
      'digest-malformed',
      /logFiles\.0\.hashValue/,
    ],
    [
      'an unparseable end time',
      gzipSync(JSON.stringify({ ...JSON.parse(SAMPLE.toString()), digestEndTime: 'yesterday' })),
      'digest-malformed',
      /digestEndTime: must be an ISO-8601 time/,
    ],
  ])('%s', (_name, body, kind, message) => {
    const examined = examine(body as Buffer);
    expect(examined.status).toMatch(/unreadable/);
    expect(examined.findings).toEqual([
      expect.objectContaining({
        kind,
        file: 'AWSLogs/x/digest.json.gz',
        severity: 'error',
        message: expect.stringMatching(message as RegExp),
      }),
    ]);
  });

  test('a digest inflating beyond the size limit is unreadable, not loaded', () => {
    const bomb = gzipSync(Buffer.alloc(65 * 1024 * 1024, 0x20));
    expect(readDigest('bomb', bomb)).toMatchObject({ ok: false, finding: { kind: 'digest-unreadable' } });
  });

  test('a signature that is not hex does not verify, and says so', () => {
    const key = generateSigningKey();
    const tree = new DeliveryTree(key, { hours: 1 });
    const digestKey = tree.digestKeys[0];
    const [examined] = examineDigests(
      [{ key: digestKey, bucket: tree.bucket, body: tree.object(digestKey).body, metadata: { signature: 'not-hex!' } }],
      PublicKeyRing.fromJson(listPublicKeysJson(key)),
    );
    expect(examined.findings.map((f) => f.kind)).toEqual(['digest-signature-invalid']);
  });

  test('an unsupported signature algorithm is rejected', () => {
    const key = generateSigningKey();
    const tree = new DeliveryTree(key, { hours: 1 });
    const digestKey = tree.digestKeys[0];
    const metadata = { ...tree.object(digestKey).metadata, 'signature-algorithm': 'SHA1withRSA' };
    const [examined] = examineDigests(
      [{ key: digestKey, bucket: tree.bucket, body: tree.object(digestKey).body, metadata }],
      PublicKeyRing.fromJson(listPublicKeysJson(key)),
    );
    expect(examined.findings[0].message).toMatch(/signed with "SHA1withRSA", not SHA256withRSA/);
  });
});

describe('the signing string', () => {
  const fields = {
    digestEndTime: '2015-08-12T04:01:31Z',
    digestS3Bucket: 'S3-bucket-name',
    digestS3Object:
      'AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/12/111122223333_CloudTrail-Digest_us-east-2_trail_us-east-2_20150812T040131Z.json.gz',
    previousDigestSignature: '6e8540b8',
  };

  test('is end time, bucket/key, digest SHA-256 and previous signature, newline-separated, no trailing newline', () => {
    expect(stringToSign(fields, 'abc123')).toBe(
      `2015-08-12T04:01:31Z\nS3-bucket-name/${fields.digestS3Object}\nabc123\n6e8540b8`,
    );
  });

  test('carries the literal "null" for a starting digest, as the CLI does to match CloudTrail', () => {
    expect(stringToSign({ ...fields, previousDigestSignature: null }, 'abc').endsWith('\nabc\nnull')).toBe(true);
  });

  test('verifies a signature made as the documentation describes, and no other', () => {
    const key = generateSigningKey();
    const inflated = Buffer.from('{"digest":true}');
    const signature = signDigest(fields, inflated, key);
    const publicKey = PublicKeyRing.fromJson(listPublicKeysJson(key)).get(key.listEntry.Fingerprint)!.key;
    const sha = require('node:crypto').createHash('sha256').update(inflated).digest('hex');

    expect(signatureVerifies(stringToSign(fields, sha), signature, publicKey)).toBe(true);
    expect(
      signatureVerifies(stringToSign({ ...fields, digestEndTime: '2015-08-12T04:01:32Z' }, sha), signature, publicKey),
    ).toBe(false);
  });
});

describe('PublicKeyRing', () => {
  test("loads the User Guide's list-public-keys sample: real CloudTrail keys, PKCS#1 and X.509 encoded", () => {
    // CloudTrail User Guide, "Custom implementations of CloudTrail log file integrity validation", sample response
    // (awsdocs/aws-cloudtrail-user-guide doc_source/cloudtrail-log-file-custom-validation.md, sample code, MIT-0).
    const ring = PublicKeyRing.fromJson({
      publicKeyList: [
        {
          ValidityStartTime: '1436317441.0',
          ValidityEndTime: '1438909441.0',
          Value:
            'MIIBCgKCAQEAn11L2YZ9h7onug2ILi1MWyHiMRsTQjfWE+pHVRLk1QjfWhirG+lpOa8NrwQ/r7Ah5bNL6HepznOU9XTDSfmmnP97mqyc7z/upfZdS/AHhYcGaz7n6Wc/RRBU6VmiPCrAUojuSk6/GjvA8iOPFsYDuBtviXarvuLPlrT9kAd4Lb+rFfR5peEgBEkhlzc5HuWO7S0y+KunqxX6jQBnXGMtxmPBPP0FylgWGNdFtks/4YSKcgqwH0YDcawP9GGGDAeCIqPWIXDLG1jOjRRzWfCmD0iJUkz8vTsn4hq/5ZxRFE7UBAUiVcGbdnDdvVfhF9C3dQiDq3k7adQIziLT0cShgQIDAQAB',
          Fingerprint: '8eba5db5bea9b640d1c96a77256fe7f2',
        },
        {
          ValidityStartTime: '1434589370.0',
          ValidityEndTime: '1437181370.0',
          Value:
            'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqlzPJbvZJ42UdcmLfPUqXYNfOs6I8lCfao/tOs8CmzPOEdtLWugB9xoIUz78qVHdKIqxbaG4jWHfJBiOSSFBM0lt8cdVo4TnRa7oG9io5pysS6DJhBBAeXsicufsiFJR+wrUNh8RSLxL4k6G1+BhLX20tJkZ/erT97tDGBujAelqseGg3vPZbTx9SMfOLN65PdLFudLP7Gat0Z9p5jw/rjpclKfo9Bfc3heeBxWGKwBBOKnFAaN9V57pOaosCvPKmHd9bg7jsQkI9Xp22IzGLsTFJZYVA3KiTAElDMu80iFXPHEq9hKNbt9e4URFam+1utKVEiLkR2disdCmPTK0VQIDAQAB',
          Fingerprint: '31e8b5433410dfb61a9dc45cc65b22ff',
        },
      ],
    });
    expect(ring.problems).toEqual([]);
    expect(ring.size).toBe(2);
    expect(ring.get('8EBA5DB5BEA9B640D1C96A77256FE7F2')).toMatchObject({
      validFrom: 1436317441000,
      validTo: 1438909441000,
    });
    expect(ring.get('31e8b5433410dfb61a9dc45cc65b22ff')?.key.asymmetricKeyType).toBe('rsa');
  });

  test('loads one list-public-keys output per Region given as an array', () => {
    const a = generateSigningKey();
    const b = generateSigningKey();
    const ring = PublicKeyRing.fromJson([listPublicKeysJson(a), listPublicKeysJson(b)]);
    expect(ring.size).toBe(2);
  });

  test('records bad entries as problems and keeps the good ones', () => {
    const good = generateSigningKey();
    const ring = PublicKeyRing.fromJson({
      PublicKeyList: [good.listEntry, { Fingerprint: 'ab', Value: 'bm90IGEga2V5' }, { Value: 'x' }],
    });
    expect(ring.size).toBe(1);
    expect(ring.problems).toEqual([
      'public keys: key ab is not a DER-encoded RSA public key',
      'public keys: entry 2 has no Fingerprint or no Value',
    ]);
  });

  test('says so when the document is not list-public-keys output', () => {
    expect(PublicKeyRing.fromJson({ keys: [] }, 'keys.json').problems).toEqual([
      'keys.json: not the output of "aws cloudtrail list-public-keys" (expected { "PublicKeyList": [...] })',
    ]);
  });
});

describe('parseDigestKey', () => {
  test('reads organization trails, key prefixes and backfill digests, each backfill chain apart', () => {
    const key =
      'audit/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail-Digest/eu-west-1/2024/03/01/111122223333_CloudTrail-Digest_eu-west-1_my_trail_us-east-1_20240301T010131Z_backfill.json.gz';
    expect(parseDigestKey(key)).toMatchObject({
      prefix: 'audit',
      organizationId: 'o-a1b2c3d4e5',
      trailName: 'my_trail',
      homeRegion: 'us-east-1',
      backfill: true,
      chain: '111122223333/eu-west-1/my_trail (backfill)',
      partition: 'audit/AWSLogs/o-a1b2c3d4e5/111122223333/eu-west-1',
    });
  });

  test('rejects a digest whose folder and name disagree', () => {
    expect(
      parseDigestKey(
        'AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2024/03/01/999999999999_CloudTrail-Digest_eu-west-1_t_eu-west-1_20240301T010131Z.json.gz',
      ),
    ).toBeUndefined();
  });
});
