/**
 * Classifies an S3 object key (or a local file path) before anything reads it: CloudTrail log file,
 * digest file, Insights file, or a foreign object that shares the archive (AWS Config's
 * `ConfigWritabilityCheckFile` probe, Config snapshots, anything else).
 *
 * Layouts (reference: cloudtrail.md §1.1–1.4):
 * - account trail: `[prefix/]AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<uniq>.json.gz`
 * - organization trail: the same with `o-<orgid>/` before the account
 * - Insights: folder `CloudTrail-Insight`, name `<acct>_CloudTrail-Insight_<region>_<ts>_<uniq>.json.gz`
 * - digests: folder `CloudTrail-Digest`, name `<acct>_CloudTrail-Digest_<region>_<trail>_<home-region>_<YYYYMMDDTHHMMSSZ>.json.gz`
 *
 * A bare file name (no `AWSLogs/` in the path) is classified by its name alone, so downloaded files
 * in any local folder layout still classify.
 */

export type KeyKind = 'log' | 'digest' | 'insight' | 'foreign';

export interface KeyInfo {
  readonly kind: KeyKind;
  /** The 12-digit account from the key (folder and file name agree when both are present). */
  readonly account?: string;
  readonly region?: string;
  /** `o-…` for organization trails. */
  readonly organizationId?: string;
  /** The delivery time from the file name, epoch ms (minute precision; seconds for digests). */
  readonly deliveredAt?: number;
  /** Everything before `AWSLogs/` (no trailing slash); absent when the key starts with `AWSLogs/` or is a bare name. */
  readonly prefix?: string;
  /** The `YYYY/MM/DD` delivery-date folder, when the key has one (the Glue `dt` partition). */
  readonly date?: string;
  /** Digest files only: the trail name and its home region. */
  readonly trailName?: string;
  readonly homeRegion?: string;
}

const FOLDER_KIND: Record<string, Exclude<KeyKind, 'foreign'>> = {
  CloudTrail: 'log',
  'CloudTrail-Insight': 'insight',
  'CloudTrail-Digest': 'digest',
};

// Loose on purpose (cloudtrail.md §1.2): the org id and region are only shape-checked, the unique string is any
// run of word characters, and `.json` without `.gz` is accepted for files someone decompressed locally.
const LOG_NAME = /^(\d{12})_(CloudTrail|CloudTrail-Insight)_([a-z0-9-]+)_(\d{8}T\d{4}Z)_([A-Za-z0-9]+)\.json(?:\.gz)?$/;
const DIGEST_NAME = /^(\d{12})_CloudTrail-Digest_([a-z0-9-]+)_(.+)_([a-z0-9-]+)_(\d{8}T\d{6}Z)\.json(?:\.gz)?$/;
/** The layout from `AWSLogs/` on (the prefix before it is cut off first). */
const LAYOUT =
  /^AWSLogs\/(?:(o-[a-z0-9]{4,32})\/)?(\d{12})\/(CloudTrail|CloudTrail-Insight|CloudTrail-Digest)\/([a-z0-9-]+)\/(\d{4})\/(\d{2})\/(\d{2})\/[^/]+$/;

/** Parses `YYYYMMDDTHHmmZ` or `YYYYMMDDTHHmmssZ` as UTC epoch ms; undefined when the digits are not a real time. */
export function parseCompactUtc(ts: string): number | undefined {
  const seconds = ts.length === 16 ? Number(ts.slice(13, 15)) : 0;
  const ms = Date.UTC(
    Number(ts.slice(0, 4)),
    Number(ts.slice(4, 6)) - 1,
    Number(ts.slice(6, 8)),
    Number(ts.slice(9, 11)),
    Number(ts.slice(11, 13)),
    seconds,
  );
  return Number.isNaN(ms) ? undefined : ms;
}

interface NameInfo {
  kind: Exclude<KeyKind, 'foreign'>;
  account: string;
  region: string;
  deliveredAt?: number;
  trailName?: string;
  homeRegion?: string;
}

function classifyName(name: string): NameInfo | undefined {
  const log = LOG_NAME.exec(name);
  if (log) {
    const info: NameInfo = { kind: log[2] === 'CloudTrail' ? 'log' : 'insight', account: log[1], region: log[3] };
    const at = parseCompactUtc(log[4]);
    if (at !== undefined) info.deliveredAt = at;
    return info;
  }
  const digest = DIGEST_NAME.exec(name);
  if (digest) {
    const info: NameInfo = {
      kind: 'digest',
      account: digest[1],
      region: digest[2],
      trailName: digest[3],
      homeRegion: digest[4],
    };
    const at = parseCompactUtc(digest[5]);
    if (at !== undefined) info.deliveredAt = at;
    return info;
  }
  return undefined;
}

const FOREIGN: KeyInfo = { kind: 'foreign' };

/**
 * Classifies an object key or a local path (`\` separators are accepted).
 * Anything that does not match a CloudTrail layout exactly is `foreign`: callers skip it and count it.
 */
export function classifyKey(key: string): KeyInfo {
  const path = key.includes('\\') ? key.replace(/\\/g, '/') : key;
  const name = path.slice(path.lastIndexOf('/') + 1);
  const fromName = classifyName(name);
  // The layout's `AWSLogs/` is the last one: nothing after it (digits, folders, the name) can be `/AWSLogs/`.
  const last = path.lastIndexOf('/AWSLogs/');
  const at = last >= 0 ? last + 1 : path.startsWith('AWSLogs/') ? 0 : -1;
  if (at < 0) {
    // No AWSLogs/ layout in the path: a bare name or a local folder of downloaded files.
    return fromName ?? FOREIGN;
  }
  const layout = LAYOUT.exec(at === 0 ? path : path.slice(at));
  if (!layout || !fromName) return FOREIGN;
  const [, organizationId, account, folder, region, y, m, d] = layout;
  // The folder, account and region in the path must agree with the file name, or this is not CloudTrail's object.
  if (FOLDER_KIND[folder] !== fromName.kind || account !== fromName.account || region !== fromName.region) {
    return FOREIGN;
  }
  // Built field by field (no undefined fields): a listing classifies tens of thousands of keys.
  const info: Mutable<KeyInfo> = fromName;
  if (organizationId !== undefined) info.organizationId = organizationId;
  if (at > 1) info.prefix = path.slice(0, at - 1);
  info.date = `${y}/${m}/${d}`;
  return info;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
