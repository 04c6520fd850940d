/**
 * Digest file keys: where a digest sits says which chain it belongs to.
 *
 * `[prefix/]AWSLogs/[o-id/]<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_<trail>_<home region>_<YYYYMMDDTHHMMSSZ>[_backfill].json.gz`
 * (CloudTrail User Guide, "CloudTrail digest file structure"). The timestamp is the digest's end time; backfill digests,
 * which list log files an hourly digest missed because of processing delays, end in `_backfill` and form their own
 * chain, as `aws cloudtrail validate-logs` treats them.
 *
 * Written here rather than in `../keys.ts` because that classifier does not know backfill digests.
 */
import { parseCompactUtc } from '../keys';

export interface DigestKey {
  /** The key as given (an S3 key, or a path relative to a local root). */
  readonly key: string;
  /** Everything before `AWSLogs/` (no trailing slash), when there is something. */
  readonly prefix?: string;
  readonly organizationId?: string;
  readonly account: string;
  /** The Region the digest covers (and whose key signed it). */
  readonly region: string;
  readonly trailName: string;
  /** The trail's home Region. */
  readonly homeRegion: string;
  /** The digest end time from the name, epoch ms. */
  readonly endTime: number;
  readonly backfill: boolean;
  /** One chain per account, Region and trail (backfill digests apart): `<account>/<region>/<trail>[ (backfill)]`. */
  readonly chain: string;
  /** The log files of this account and Region, whatever the trail: `[prefix/]AWSLogs/[o-id/]<account>/<region>`. */
  readonly partition: string;
}

const DIGEST_KEY =
  /^(?:(.*?)\/)?AWSLogs\/(?:(o-[a-z0-9]{4,32})\/)?(\d{12})\/CloudTrail-Digest\/([a-z0-9-]+)\/\d{4}\/\d{2}\/\d{2}\/(\d{12})_CloudTrail-Digest_([a-z0-9-]+)_(.+)_([a-z0-9-]+)_(\d{8}T\d{6}Z)(_backfill)?\.json(?:\.gz)?$/;

/** Parses a digest key; undefined when the key is not a CloudTrail digest's (folder and name must agree). */
export function parseDigestKey(key: string): DigestKey | undefined {
  const m = DIGEST_KEY.exec(key.replace(/\\/g, '/'));
  if (!m) return undefined;
  const [, prefix, organizationId, account, region, nameAccount, nameRegion, trailName, homeRegion, stamp, backfill] =
    m;
  const endTime = parseCompactUtc(stamp);
  if (account !== nameAccount || region !== nameRegion || endTime === undefined) return undefined;
  return {
    key,
    prefix: prefix || undefined,
    organizationId,
    account,
    region,
    trailName,
    homeRegion,
    endTime,
    backfill: backfill !== undefined,
    chain: `${account}/${region}/${trailName}${backfill ? ' (backfill)' : ''}`,
    partition: logPartition(prefix, organizationId, account, region),
  };
}

/** The partition a log file or digest belongs to: its prefix, organization, account and Region. */
export function logPartition(
  prefix: string | undefined,
  organizationId: string | undefined,
  account: string,
  region: string,
): string {
  return `${prefix ? `${prefix}/` : ''}AWSLogs/${organizationId ? `${organizationId}/` : ''}${account}/${region}`;
}

/**
 * The part of a key from `AWSLogs/` on. Digests name log files by their S3 key; a local copy keeps that tail whatever
 * folder it was downloaded to, so files are matched on it.
 */
export function keyTail(key: string): string {
  const path = key.replace(/\\/g, '/');
  if (path.startsWith('AWSLogs/')) return path;
  const at = path.indexOf('/AWSLogs/');
  return at >= 0 ? path.slice(at + 1) : path;
}
