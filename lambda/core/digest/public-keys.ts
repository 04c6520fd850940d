/**
 * The public keys digests are verified with, as `ListPublicKeys` returns them (CloudTrail API Reference, `PublicKey`:
 * `Value` is the DER-encoded PKCS#1 RSA public key, `Fingerprint` its fingerprint). The JSON printed by
 * `aws cloudtrail list-public-keys` carries `Value` in base64; the SDK gives bytes. Both load here.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';

export interface PublicKeyEntry {
  readonly fingerprint: string;
  readonly key: KeyObject;
  /** Epoch ms, when given. */
  readonly validFrom?: number;
  readonly validTo?: number;
}

/** One `PublicKeyList` item, from the CLI's JSON or the SDK. */
export interface PublicKeyInput {
  readonly Value?: string | Uint8Array;
  readonly Fingerprint?: string;
  readonly ValidityStartTime?: string | number | Date;
  readonly ValidityEndTime?: string | number | Date;
}

/** Public keys by fingerprint. */
export class PublicKeyRing {
  private readonly keys = new Map<string, PublicKeyEntry>();

  /** Keys that could not be loaded, one sentence each (a bad entry never stops the others). */
  readonly problems: string[] = [];

  /**
   * Loads the output of `aws cloudtrail list-public-keys` (`{ "PublicKeyList": [...] }`), a list of such outputs
   * (one per Region), or a bare `PublicKeyList` array.
   */
  static fromJson(document: unknown, source = 'public keys'): PublicKeyRing {
    const ring = new PublicKeyRing();
    ring.addJson(document, source);
    return ring;
  }

  get size(): number {
    return this.keys.size;
  }

  get(fingerprint: string): PublicKeyEntry | undefined {
    return this.keys.get(fingerprint.toLowerCase());
  }

  /** Adds the keys of a JSON document (see {@link fromJson}); problems are recorded, not thrown. */
  addJson(document: unknown, source = 'public keys'): void {
    const items = listOf(document);
    if (items === undefined) {
      this.problems.push(
        `${source}: not the output of "aws cloudtrail list-public-keys" (expected { "PublicKeyList": [...] })`,
      );
      return;
    }
    this.add(items as PublicKeyInput[], source);
  }

  /** Adds `ListPublicKeys` items. */
  add(items: readonly PublicKeyInput[], source = 'public keys'): void {
    items.forEach((item, i) => {
      const fingerprint = typeof item?.Fingerprint === 'string' ? item.Fingerprint.toLowerCase() : undefined;
      const der =
        typeof item?.Value === 'string'
          ? Buffer.from(item.Value, 'base64')
          : item?.Value instanceof Uint8Array
            ? Buffer.from(item.Value)
            : undefined;
      if (!fingerprint || !der || der.length === 0) {
        this.problems.push(`${source}: entry ${i} has no Fingerprint or no Value`);
        return;
      }
      const key = loadRsaPublicKey(der);
      if (key) {
        this.keys.set(fingerprint, {
          fingerprint,
          key,
          validFrom: epoch(item.ValidityStartTime),
          validTo: epoch(item.ValidityEndTime),
        });
      } else {
        this.problems.push(`${source}: key ${fingerprint} is not a DER-encoded RSA public key`);
      }
    });
  }
}

/**
 * The API documents PKCS#1 (`RSAPublicKey`); one of the sample keys in the CloudTrail User Guide is an X.509
 * `SubjectPublicKeyInfo` instead, so both are accepted.
 */
function loadRsaPublicKey(der: Buffer): KeyObject | undefined {
  for (const type of ['pkcs1', 'spki'] as const) {
    try {
      const key = createPublicKey({ key: der, format: 'der', type });
      if (key.asymmetricKeyType === 'rsa') return key;
    } catch {
      // try the next encoding
    }
  }
  return undefined;
}

/** The list in `{ "PublicKeyList": [...] }` (the User Guide's sample spells it `publicKeyList`), or a bare list. */
function listOf(document: unknown): unknown[] | undefined {
  if (Array.isArray(document)) {
    const lists = document.map((d) => (d && typeof d === 'object' && !('Value' in d) ? listOf(d) : undefined));
    if (document.length > 0 && lists.every((l) => l !== undefined)) return lists.flat();
    return document;
  }
  if (document && typeof document === 'object') {
    const entry = Object.entries(document).find(([k, v]) => k.toLowerCase() === 'publickeylist' && Array.isArray(v));
    if (entry) return entry[1] as unknown[];
  }
  return undefined;
}

function epoch(value: string | number | Date | undefined): number | undefined {
  if (value === undefined) return undefined;
  // The CLI prints ISO strings or epoch seconds (also as "1436317441.0"), depending on its cli_timestamp_format.
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number' || /^\d+(\.\d+)?$/.test(value)
        ? Number(value) * 1000
        : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
