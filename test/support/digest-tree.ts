/**
 * Builds CloudTrail delivery trees with digest files signed exactly as CloudTrail documents, for the verifier's tests.
 *
 * The signing here is written from the documentation, independently of `lambda/core/digest` (a test that signed with
 * the code under test could not catch a wrong signing string): CloudTrail User Guide, "Custom implementations of
 * CloudTrail log file integrity validation" — `digestEndTime + "\n" + bucket/key + "\n" + hex(SHA-256(decompressed
 * digest)) + "\n" + previous signature (hex, or "null")`, RSA PKCS#1 v1.5 over its SHA-256, hex-encoded into the
 * object's `x-amz-meta-signature`. Log file contents are real CloudTrail files from `samples/flaws2-cloud`.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

/** A key pair standing in for a Region's CloudTrail signing key. */
export interface SigningKey {
  readonly privateKey: KeyObject;
  /** The entry `aws cloudtrail list-public-keys` would print for it. */
  readonly listEntry: { Value: string; ValidityStartTime: string; ValidityEndTime: string; Fingerprint: string };
}

/** Generates an RSA key pair; the fingerprint is the MD5 of the DER public key (any unique hex string would do). */
export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ format: 'der', type: 'pkcs1' });
  return {
    privateKey,
    listEntry: {
      Value: der.toString('base64'),
      ValidityStartTime: '2024-01-01T00:00:00Z',
      ValidityEndTime: '2025-01-01T00:00:00Z',
      Fingerprint: createHash('md5').update(der).digest('hex'),
    },
  };
}

/** The JSON `aws cloudtrail list-public-keys` prints, for these keys. */
export function listPublicKeysJson(...keys: SigningKey[]): { PublicKeyList: SigningKey['listEntry'][] } {
  return { PublicKeyList: keys.map((k) => k.listEntry) };
}

export interface StoredObject {
  body: Buffer;
  /** S3 user metadata (digests: signature, signature-algorithm). */
  metadata?: Record<string, string>;
}

export interface TreeOptions {
  /** @default 'archive-bucket' */
  readonly bucket?: string;
  /** @default '111122223333' */
  readonly account?: string;
  /** @default 'eu-west-1' */
  readonly region?: string;
  /** @default 'trailsight' */
  readonly trailName?: string;
  /** Hours of delivery, one digest each. @default 4 */
  readonly hours?: number;
  /** Log files per hour; hours listed in `emptyHours` get none (empty digests). @default 2 */
  readonly filesPerHour?: number;
  readonly emptyHours?: readonly number[];
  /** Start of the first digest, epoch ms. @default 2024-03-01T00:01:31Z */
  readonly start?: number;
  /** Organization trail: keys under `AWSLogs/<o-id>/`. */
  readonly organizationId?: string;
  /** The trail's S3 key prefix, before `AWSLogs/` (e.g. an existing Control Tower archive's `o-…`). */
  readonly keyPrefix?: string;
}

const SAMPLES = join(__dirname, '../../samples/flaws2-cloud/AWSLogs/653711331788/CloudTrail/us-east-1/2018/11/28');
const HOUR = 3_600_000;

/** Real delivery files (flaws2.cloud, samples/SOURCE.md), reused as log file contents. */
export function sampleLogFiles(): Buffer[] {
  return readdirSync(SAMPLES)
    .filter((f) => f.endsWith('.json.gz'))
    .sort()
    .map((f) => readFileSync(join(SAMPLES, f)));
}

/** `YYYYMMDDTHHmm[ss]Z` */
function compact(ms: number, seconds: boolean): string {
  const iso = new Date(ms).toISOString();
  const base = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}`;
  return `${base}${seconds ? iso.slice(17, 19) : ''}Z`;
}

const isoSeconds = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
const datePath = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '/');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The documented data-signing string and its RSA SHA-256 signature, hex. */
export function signDigest(
  digest: {
    digestEndTime: string;
    digestS3Bucket: string;
    digestS3Object: string;
    previousDigestSignature: string | null;
  },
  inflated: Buffer,
  key: SigningKey,
): string {
  const data = `${digest.digestEndTime}\n${digest.digestS3Bucket}/${digest.digestS3Object}\n${sha256(inflated)}\n${digest.previousDigestSignature ?? 'null'}`;
  return sign('sha256', Buffer.from(data, 'utf8'), key.privateKey).toString('hex');
}

/** A delivery tree: log files and an hourly signed digest chain, as objects by key. */
export class DeliveryTree {
  readonly objects = new Map<string, StoredObject>();
  /** Digest keys, oldest first. */
  readonly digestKeys: string[] = [];
  /** Log file keys, by hour. */
  readonly logKeysByHour: string[][] = [];
  readonly bucket: string;
  readonly account: string;
  readonly region: string;
  private readonly base: string;

  constructor(
    readonly key: SigningKey,
    private readonly options: TreeOptions = {},
  ) {
    this.bucket = options.bucket ?? 'archive-bucket';
    this.account = options.account ?? '111122223333';
    this.region = options.region ?? 'eu-west-1';
    this.base = `${options.keyPrefix ? `${options.keyPrefix}/` : ''}AWSLogs/${options.organizationId ? `${options.organizationId}/` : ''}${this.account}`;
    const samples = sampleLogFiles();
    const start = options.start ?? Date.UTC(2024, 2, 1, 0, 1, 31);
    const hours = options.hours ?? 4;
    const perHour = options.filesPerHour ?? 2;
    let previous: { key: string; signature: string; inflated: Buffer } | undefined;
    let n = 0;
    for (let h = 0; h < hours; h++) {
      const from = start + h * HOUR;
      const to = from + HOUR;
      const logs: { key: string; gz: Buffer }[] = [];
      if (!options.emptyHours?.includes(h)) {
        for (let i = 0; i < perHour; i++) {
          const delivered = from + (10 + 20 * i) * 60_000;
          const gz = samples[n++ % samples.length];
          const unique = createHash('md5').update(`${h}-${i}`).digest('hex').slice(0, 16);
          const key = `${this.base}/CloudTrail/${this.region}/${datePath(delivered)}/${this.account}_CloudTrail_${this.region}_${compact(delivered, false)}_${unique}.json.gz`;
          this.objects.set(key, { body: gz });
          logs.push({ key, gz });
        }
      }
      this.logKeysByHour.push(logs.map((l) => l.key));
      const key = this.digestKey(to);
      const document = {
        awsAccountId: this.account,
        digestStartTime: isoSeconds(from),
        digestEndTime: isoSeconds(to),
        digestS3Bucket: this.bucket,
        digestS3Object: key,
        digestPublicKeyFingerprint: this.key.listEntry.Fingerprint,
        digestSignatureAlgorithm: 'SHA256withRSA',
        newestEventTime: logs.length > 0 ? isoSeconds(to - 60_000) : null,
        oldestEventTime: logs.length > 0 ? isoSeconds(from) : null,
        previousDigestS3Bucket: previous ? this.bucket : null,
        previousDigestS3Object: previous?.key ?? null,
        previousDigestHashValue: previous ? sha256(previous.inflated) : null,
        previousDigestHashAlgorithm: previous ? 'SHA-256' : null,
        previousDigestSignature: previous?.signature ?? null,
        logFiles: logs.map((l) => ({
          s3Bucket: this.bucket,
          s3Object: l.key,
          hashValue: sha256(readGzip(l.gz)),
          hashAlgorithm: 'SHA-256',
          newestEventTime: isoSeconds(to - 60_000),
          oldestEventTime: isoSeconds(from),
        })),
      };
      const signature = this.putDigest(key, document, this.key);
      previous = { key, signature, inflated: this.inflated(key) };
      this.digestKeys.push(key);
    }
  }

  /** The key CloudTrail gives the digest ending at `end`. */
  digestKey(end: number): string {
    const trail = this.options.trailName ?? 'trailsight';
    return `${this.base}/CloudTrail-Digest/${this.region}/${datePath(end)}/${this.account}_CloudTrail-Digest_${this.region}_${trail}_${this.region}_${compact(end, true)}.json.gz`;
  }

  /** Writes a digest document signed with `key` (gzipped, with its signature in the metadata); returns the signature. */
  putDigest(key: string, document: Record<string, unknown>, signingKey: SigningKey): string {
    const inflated = Buffer.from(JSON.stringify(document), 'utf8');
    const signature = signDigest(document as unknown as Parameters<typeof signDigest>[0], inflated, signingKey);
    this.objects.set(key, {
      body: gzipSync(inflated),
      metadata: { signature, 'signature-algorithm': 'SHA256withRSA' },
    });
    return signature;
  }

  /** A digest's document, parsed. */
  document(key: string): Record<string, unknown> & { logFiles: Record<string, unknown>[] } {
    return JSON.parse(this.inflated(key).toString('utf8'));
  }

  private inflated(key: string): Buffer {
    return readGzip(this.object(key).body);
  }

  object(key: string): StoredObject {
    const o = this.objects.get(key);
    if (!o) throw new Error(`no object ${key}`);
    return o;
  }

  /** Writes the tree under `root` (keys as paths), with `<digest>.metadata.json` sidecars for the given digests. */
  writeTo(root: string, sidecars: 'all' | 'newest' | 'none' = 'all'): void {
    const newest = this.digestKeys[this.digestKeys.length - 1];
    for (const [key, o] of this.objects) {
      const path = join(root, key);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, o.body);
      if (o.metadata && (sidecars === 'all' || (sidecars === 'newest' && key === newest))) {
        writeFileSync(`${path}.metadata.json`, JSON.stringify(o.metadata));
      }
    }
  }
}

function readGzip(gz: Buffer): Buffer {
  return gunzipSync(gz);
}
