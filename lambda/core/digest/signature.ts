/**
 * The digest signature, exactly as CloudTrail signs it and `aws cloudtrail validate-logs` checks it.
 *
 * CloudTrail User Guide, "Custom implementations of CloudTrail log file integrity validation": the data-signing
 * string is the digest end time (as written in the digest), the digest's S3 path (`bucket/key`), the hex SHA-256 of
 * the decompressed digest file and the hex signature of the previous digest, separated by newlines; CloudTrail signs
 * its SHA-256 with RSA (SHA256withRSA) and stores the hex signature as the object's `x-amz-meta-signature`. The CLI
 * (awscli/customizations/cloudtrail/validation.py, `Sha256RSADigestValidator._create_string_to_sign`) builds the same
 * string with no trailing newline and writes `null` for the starting digest's previous signature.
 */
import { type KeyObject, verify } from 'node:crypto';

/** The fields of a digest the signing string uses. */
export interface SignedFields {
  readonly digestEndTime: string;
  readonly digestS3Bucket: string;
  readonly digestS3Object: string;
  readonly previousDigestSignature: string | null;
}

/** The only algorithm CloudTrail documents (`digestSignatureAlgorithm`, `x-amz-meta-signature-algorithm`). */
export const SIGNATURE_ALGORITHM = 'SHA256withRSA';

/** The data-signing string of a digest whose decompressed bytes hash to `digestSha256Hex`. */
export function stringToSign(fields: SignedFields, digestSha256Hex: string): string {
  return [
    fields.digestEndTime,
    `${fields.digestS3Bucket}/${fields.digestS3Object}`,
    digestSha256Hex,
    fields.previousDigestSignature ?? 'null',
  ].join('\n');
}

/** Whether a hex RSA PKCS#1 v1.5 SHA-256 signature over `data` (UTF-8) verifies with `key`. */
export function signatureVerifies(data: string, signatureHex: string, key: KeyObject): boolean {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(signatureHex)) return false;
  try {
    return verify('sha256', Buffer.from(data, 'utf8'), key, Buffer.from(signatureHex, 'hex'));
  } catch {
    // A key of another type, or a signature of the wrong length: it does not verify.
    return false;
  }
}
