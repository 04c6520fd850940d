/**
 * The existing-archive layouts Trailsight reads (docs/deploy.md, "Bring your own trail and archive"), and real keys
 * from `../shared/data` rewritten into each, for the key, table, rule and grant tests of `archive.existing`.
 *
 * Layouts, as their tools write them:
 * - AWS Control Tower, landing zone 3.0 and later: an organization trail with the organization ID as key prefix,
 *   `o-…/AWSLogs/o-…/<account>/CloudTrail/…`, bucket `aws-controltower-logs-<log archive account>-<home Region>`,
 *   SSE-S3 unless a KMS key is configured (the key lives in the management account).
 * - AWS Control Tower before 3.0: account trails with the same prefix and no organization folder,
 *   `o-…/AWSLogs/<account>/CloudTrail/…` (the files an upgrade leaves behind).
 * - Landing Zone Accelerator: its organization trail writes `cloudtrail-organization/AWSLogs/o-…/<account>/…`
 *   (`s3KeyPrefix: 'cloudtrail-organization'` in organizations-stack.ts, release v1.15.5) to
 *   `aws-accelerator-central-logs-<account>-<Region>`, encrypted with the central-logs key.
 * - A plain account trail with a prefix, in a bucket of any name.
 *
 * Real keys: the delivery files of flaws2.cloud (kept in their S3 layout) and grycap (bare names, placed in the
 * layout their names give), and the digest and log keys of the CloudTrail User Guide's sample digest file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrailsightConfigInput } from '../../lib/config';
import { DATA_DIR, walk } from '../core/helpers';

export interface ArchiveLayout {
  readonly name: string;
  readonly bucketName: string;
  /** What comes before `AWSLogs/`. */
  readonly keyPrefix?: string;
  readonly organizationId?: string;
  readonly kmsKeyArn?: string;
  /** The account folder's parent, written out (not derived from the code under test). */
  readonly accountsRoot: string;
}

export const ORGANIZATION_ID = 'o-a1b2c3d4e5';
/** The log archive account of every layout (the bucket owner, where detection and integrity run). */
export const LOG_ARCHIVE_ACCOUNT = '222222222222';
export const HOME_REGION = 'eu-west-1';

export const LAYOUTS: readonly ArchiveLayout[] = [
  {
    name: 'Control Tower (organization trail, landing zone 3.0+)',
    bucketName: `aws-controltower-logs-${LOG_ARCHIVE_ACCOUNT}-${HOME_REGION}`,
    keyPrefix: ORGANIZATION_ID,
    organizationId: ORGANIZATION_ID,
    kmsKeyArn: `arn:aws:kms:${HOME_REGION}:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
    accountsRoot: `${ORGANIZATION_ID}/AWSLogs/${ORGANIZATION_ID}/`,
  },
  {
    name: 'Control Tower (account trails, before 3.0)',
    bucketName: `aws-controltower-logs-${LOG_ARCHIVE_ACCOUNT}-${HOME_REGION}`,
    keyPrefix: ORGANIZATION_ID,
    accountsRoot: `${ORGANIZATION_ID}/AWSLogs/`,
  },
  {
    name: 'Landing Zone Accelerator (organization trail)',
    bucketName: `aws-accelerator-central-logs-${LOG_ARCHIVE_ACCOUNT}-${HOME_REGION}`,
    keyPrefix: 'cloudtrail-organization',
    organizationId: ORGANIZATION_ID,
    kmsKeyArn: `arn:aws:kms:${HOME_REGION}:${LOG_ARCHIVE_ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`,
    accountsRoot: `cloudtrail-organization/AWSLogs/${ORGANIZATION_ID}/`,
  },
  {
    name: 'an account trail with a prefix',
    bucketName: 'acme-security-audit-logs',
    keyPrefix: 'security/cloudtrail',
    accountsRoot: 'security/cloudtrail/AWSLogs/',
  },
];

/** The configuration of Trailsight over a layout: the example's shape, with the layout's archive. */
export function configFor(layout: ArchiveLayout, extra: Record<string, unknown> = {}): TrailsightConfigInput {
  return {
    homeRegion: HOME_REGION,
    organization: layout.organizationId ? { organizationId: layout.organizationId } : false,
    accounts: { logArchive: LOG_ARCHIVE_ACCOUNT },
    archive: {
      existing: {
        bucketName: layout.bucketName,
        ...(layout.keyPrefix ? { keyPrefix: layout.keyPrefix } : {}),
        ...(layout.kmsKeyArn ? { kmsKeyArn: layout.kmsKeyArn } : {}),
      },
    },
    ...extra,
  } as TrailsightConfigInput;
}

/** A key `AWSLogs/<account>/<folder>/…` of an account trail, moved into `layout`. */
export function rewrite(key: string, layout: ArchiveLayout): string {
  if (!key.startsWith('AWSLogs/')) throw new Error(`not an account-trail key: ${key}`);
  return `${layout.accountsRoot}${key.slice('AWSLogs/'.length)}`;
}

/** Real CloudTrail keys in the account-trail layout (`AWSLogs/<account>/…`). */
export interface RealKeys {
  /** Every delivery file of `../shared/data` (1,075). */
  readonly logs: readonly string[];
  /** The file in `../shared/data` of each key of `logs`. */
  readonly files: ReadonlyMap<string, string>;
  /** The sample digest file's own key and its predecessor's (CloudTrail User Guide). */
  readonly digests: readonly string[];
}

export function realKeys(): RealKeys {
  const files = new Map<string, string>();
  for (const f of walk(DATA_DIR).filter((p) => p.endsWith('.json.gz'))) {
    const at = f.indexOf('/AWSLogs/');
    if (at >= 0) {
      files.set(f.slice(at + 1), f);
      continue;
    }
    // A bare name `<account>_CloudTrail_<region>_<YYYYMMDD>T…`: the folders CloudTrail would have put it in.
    const name = f.slice(f.lastIndexOf('/') + 1);
    const [account, , region, stamp] = name.split('_');
    files.set(
      `AWSLogs/${account}/CloudTrail/${region}/${stamp.slice(0, 4)}/${stamp.slice(4, 6)}/${stamp.slice(6, 8)}/${name}`,
      f,
    );
  }
  const digest = JSON.parse(
    readFileSync(
      join(DATA_DIR, 'awsdocs-cloudtrail-user-guide/examples/22_digest_file_sample-digest-file-contents.json'),
      'utf8',
    ),
  ) as { digestS3Object: string; previousDigestS3Object: string };
  return { logs: [...files.keys()], files, digests: [digest.digestS3Object, digest.previousDigestS3Object] };
}
