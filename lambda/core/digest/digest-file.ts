/**
 * Reading a digest file: gunzip, JSON, and the shape CloudTrail documents (CloudTrail User Guide, "CloudTrail digest
 * file structure"). Every way a file can be wrong becomes a finding, never an exception.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import type { Finding } from './findings';

/** Digests are a few KB to a few MB; anything inflating beyond this is not a digest. */
export const MAX_DIGEST_BYTES = 64 * 1024 * 1024;

const isoTime = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), { error: 'must be an ISO-8601 time such as "2015-08-17T15:01:31Z"' });

const logFileSchema = z.looseObject({
  s3Bucket: z.string().min(1),
  s3Object: z.string().min(1),
  hashValue: z.string().regex(/^[0-9a-fA-F]{64}$/, { error: 'must be a hex SHA-256' }),
  hashAlgorithm: z.literal('SHA-256', { error: 'must be "SHA-256", the only algorithm CloudTrail documents' }),
});

/**
 * The fields verification relies on. `aws cloudtrail validate-logs` requires the same ones before it validates
 * (awscli/customizations/cloudtrail/validation.py, `DigestTraverser.required_digest_keys`), plus `logFiles`.
 */
const digestSchema = z.looseObject({
  digestStartTime: isoTime,
  digestEndTime: isoTime,
  digestS3Bucket: z.string().min(1),
  digestS3Object: z.string().min(1),
  digestPublicKeyFingerprint: z.string().min(1),
  digestSignatureAlgorithm: z.string().optional(),
  previousDigestS3Bucket: z.string().nullable().optional(),
  previousDigestS3Object: z.string().nullable().optional(),
  previousDigestHashValue: z.string().nullable().optional(),
  previousDigestHashAlgorithm: z.string().nullable().optional(),
  // Present and null in a starting digest: the signing string then carries the literal "null".
  previousDigestSignature: z.string().nullable(),
  logFiles: z.array(logFileSchema),
});

/** A digest file's content. */
export type DigestDocument = z.infer<typeof digestSchema>;
/** One log file a digest lists. */
export type ListedLogFile = z.infer<typeof logFileSchema>;

export type ReadDigestResult =
  | {
      readonly ok: true;
      readonly document: DigestDocument;
      /** The decompressed bytes: what the signature and the next digest's previousDigestHashValue cover. */
      readonly inflated: Buffer;
      /** Hex SHA-256 of `inflated`. */
      readonly sha256: string;
    }
  | { readonly ok: false; readonly finding: Finding };

/**
 * Decompresses (when gzipped: a decompressed local copy reads too) and validates a digest file.
 *
 * @param file the key or path, for findings
 */
export function readDigest(file: string, body: Uint8Array): ReadDigestResult {
  let inflated: Buffer;
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      inflated = gunzipSync(bytes, { maxOutputLength: MAX_DIGEST_BYTES });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === 'Z_BUF_ERROR'
          ? 'the gzip stream is truncated'
          : code === 'ERR_BUFFER_TOO_LARGE'
            ? `it inflates to more than ${MAX_DIGEST_BYTES} bytes`
            : `the gzip stream is corrupt (${(e as Error).message})`;
      return fail(file, 'digest-unreadable', `cannot be decompressed: ${why}`);
    }
  } else {
    inflated = bytes;
  }
  let json: unknown;
  try {
    json = JSON.parse(inflated.toString('utf8'));
  } catch (e) {
    return fail(file, 'digest-malformed', `is not JSON (${(e as Error).message})`);
  }
  const parsed = digestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
    const more = parsed.error.issues.length > 3 ? ` (+${parsed.error.issues.length - 3} more)` : '';
    return fail(file, 'digest-malformed', `is not a CloudTrail digest: ${issues.join('; ')}${more}`);
  }
  return {
    ok: true,
    document: parsed.data,
    inflated,
    sha256: createHash('sha256').update(inflated).digest('hex'),
  };
}

function fail(file: string, kind: 'digest-unreadable' | 'digest-malformed', detail: string): ReadDigestResult {
  return { ok: false, finding: { kind, severity: 'error', file, message: `digest file ${detail}` } };
}
