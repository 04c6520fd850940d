/**
 * Trailsight configuration: one zod schema, validated once at the edge (bin/), passed down as typed props.
 *
 * The configuration lives under the `trailsight` context key of `cdk.json` and can be replaced as a whole
 * with `-c trailsight='<json>'` or `-c trailsightConfigFile=<path>` (see `readConfig`). Every invalid value
 * fails synth with a message that names the key, the value received and the fix.
 *
 * @example
 * ```json
 * "trailsight": {
 *   "homeRegion": "eu-west-1",
 *   "regions": ["eu-west-1", "eu-central-1", "us-east-1"],
 *   "organization": { "organizationId": "o-a1b2c3d4e5" },
 *   "accounts": { "management": "111111111111", "logArchive": "222222222222", "audit": "333333333333" },
 *   "managementEvents": { "readWrite": "All", "excludeSources": ["rdsdata.amazonaws.com"] },
 *   "dataEvents": { "s3": { "resources": ["arn:aws:s3:::payroll-exports/"], "readWrite": "WriteOnly" } },
 *   "archive": { "retentionDays": 2557, "transition": { "storageClass": "DEEP_ARCHIVE", "afterDays": 365 },
 *                "objectLock": { "mode": "COMPLIANCE", "days": 2557 } },
 *   "breakGlassRoleArn": "arn:aws:iam::222222222222:role/TrailsightBreakGlass",
 *   "scp": { "targetIds": ["r-a1b2"] }
 * }
 * ```
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { RULE_LEVELS } from '../schema/detection-contract';

/**
 * The Region where CloudTrail records the events of global services (IAM, STS, CloudFront, sign-in) in the
 * partition of `homeRegion`: us-east-1, cn-north-1 (China) or us-gov-west-1 (GovCloud).
 */
export function globalServiceEventsRegion(homeRegion: string): string {
  if (homeRegion.startsWith('cn-')) return 'cn-north-1';
  if (homeRegion.startsWith('us-gov-')) return 'us-gov-west-1';
  return 'us-east-1';
}

/** Context key holding the configuration object (or a JSON string of it). */
export const CONFIG_CONTEXT_KEY = 'trailsight';
/** Context key naming a JSON file that replaces the `trailsight` object. */
export const CONFIG_FILE_CONTEXT_KEY = 'trailsightConfigFile';

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const ACCOUNT_ID = /^\d{12}$/;
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
// CloudTrail: 3-128 characters, letters, digits, '.', '_' and '-', starting and ending with a letter or digit.
const TRAIL_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{1,126})[A-Za-z0-9]$/;
const S3_OBJECT_ARN = /^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.*$/;
const LAMBDA_FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?$/;
const GLUE_NAME = /^[a-z0-9_]{1,255}$/;
const WORKGROUP_NAME = /^[A-Za-z0-9._-]{1,128}$/;
// The values CloudWatch Logs accepts for a log group's retention (aws-cdk-lib logs.RetentionDays).
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const readWrite = z.enum(['All', 'ReadOnly', 'WriteOnly'], {
  error: 'must be one of "All", "ReadOnly", "WriteOnly"',
});

const accountId = z
  .string({ error: 'must be a 12-digit AWS account ID as a string, e.g. "111122223333"' })
  .regex(ACCOUNT_ID, { error: 'must be a 12-digit AWS account ID as a string, e.g. "111122223333"' });

const positiveDays = z
  .number({ error: 'must be a whole number of days' })
  .int({ error: 'must be a whole number of days' })
  .positive({ error: 'must be at least 1 day' });

const s3DataEvents = z.strictObject({
  /** `"all"` for every bucket (the archive bucket itself excluded), or `arn:aws:s3:::bucket/prefix` ARNs. */
  resources: z.union(
    [
      z.literal('all'),
      z
        .array(
          z.string().regex(S3_OBJECT_ARN, {
            error:
              'must be an S3 object ARN prefix "arn:aws:s3:::<bucket>/<prefix>" (use "<bucket>/" for a whole bucket)',
          }),
        )
        .min(1, { error: 'must list at least one ARN, or be "all"' }),
    ],
    { error: 'must be "all" or a list of "arn:aws:s3:::<bucket>/<prefix>" ARNs' },
  ),
  readWrite: readWrite.default('All'),
});

const lambdaDataEvents = z.strictObject({
  /** `"all"` for every function, or function ARNs. */
  functions: z.union(
    [
      z.literal('all'),
      z
        .array(
          z.string().regex(LAMBDA_FUNCTION_ARN, {
            error: 'must be a Lambda function ARN "arn:aws:lambda:<region>:<account>:function:<name>"',
          }),
        )
        .min(1, { error: 'must list at least one function ARN, or be "all"' }),
    ],
    { error: 'must be "all" or a list of Lambda function ARNs' },
  ),
  readWrite: readWrite.default('All'),
});

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

const logRetentionDays = z.number().refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
  error: `must be one of the CloudWatch Logs retention values ${LOG_RETENTION_DAYS.join(', ')}`,
});

const wholeNumber = (min: number, max: number, unit: string) =>
  z
    .number({ error: `must be a whole number of ${unit}` })
    .int({ error: `must be a whole number of ${unit}` })
    .min(min, { error: `must be at least ${min} ${unit}` })
    .max(max, { error: `must be at most ${max} ${unit}` });

// ---------------------------------------------------------------------------------------------------------------
// Detection rules: detection.rules (docs/rules.md). The engine settings are those of the CLI's `rules` block
// (lambda/core/rules/config.ts `RulesConfig`, checked again at the ingest's cold start; a test keeps the two in
// step); `enabled` and `alertLevel` are the deployment's own.
// ---------------------------------------------------------------------------------------------------------------

const ruleLevel = z.enum(RULE_LEVELS, { error: `must be one of ${RULE_LEVELS.join(', ')}` });
const nonEmptyStrings = z.array(z.string().min(1, { error: 'must not be empty' }));

/** Defaults of `detection.rules` (also the value used when it is left out). */
export const RULES_DEFAULTS = {
  enabled: true,
  alertLevel: 'high' as (typeof RULE_LEVELS)[number],
  builtin: true,
  folders: [] as (string | { path: string; pack?: string; url?: string; license?: string })[],
  minLevel: 'medium' as (typeof RULE_LEVELS)[number],
  enable: [] as string[],
  disable: [] as string[],
  placeholders: {} as Record<string, string | string[]>,
  allow: [] as { rules?: string[]; principals?: string[]; accounts?: string[]; reason: string }[],
  grouping: { windowMinutes: 60 },
};

const detectionRules = z
  .strictObject({
    /** Test every event the ingest reads against the rules and put rule matches on the `trailsight` bus. */
    enabled: z.boolean({ error: 'must be true or false' }).default(RULES_DEFAULTS.enabled),
    /** Rule matches at this level or above go to the alert topic (the rest stay on the bus). */
    alertLevel: ruleLevel.default(RULES_DEFAULTS.alertLevel),
    /** Load the built-in pack (CIS 4.1-4.15, trail tampering, KMS keys, public buckets, sign-in without MFA). */
    builtin: z.boolean({ error: 'must be true or false' }).default(RULES_DEFAULTS.builtin),
    /**
     * Folders of Sigma rules (the SigmaHQ CloudTrail folder, your own), relative to the directory `cdk` runs in;
     * each is copied into the ingest function's bundle at synth, with its nearest licence notice.
     */
    folders: z
      .array(
        z.union(
          [
            z.string().min(1),
            z.strictObject({
              path: z.string().min(1),
              pack: z.string().min(1).optional(),
              url: z.string().min(1).optional(),
              license: z.string().min(1).optional(),
            }),
          ],
          { error: 'must be a folder path or { path, pack?, url?, license? }' },
        ),
      )
      .default([]),
    /** Rules below this level run only when named in `enable`. */
    minLevel: ruleLevel.default(RULES_DEFAULTS.minLevel),
    /** Rule ids or names (`*` wildcards) that run whatever their level. */
    enable: nonEmptyStrings.default([]),
    /** Rule ids or names (`*` wildcards) that never run; wins over `enable`. */
    disable: nonEmptyStrings.default([]),
    /** Values of the rules' `%name%` placeholders, e.g. `archive_bucket`, `archive_key_alias`. */
    placeholders: z.record(z.string(), z.union([z.string().min(1), nonEmptyStrings])).default({}),
    /** Expected matches, suppressed and counted: by rule, principal ARN and account (`*` wildcards). */
    allow: z
      .array(
        z
          .strictObject({
            rules: nonEmptyStrings.optional(),
            principals: nonEmptyStrings.optional(),
            accounts: nonEmptyStrings.optional(),
            reason: z.string().trim().min(1, { error: 'say why these matches are expected' }),
          })
          .refine((e) => (e.principals?.length ?? 0) + (e.accounts?.length ?? 0) > 0, {
            error: 'name principals or accounts (to turn a rule off everywhere, use disable)',
          }),
      )
      .default([]),
    /** One rule-match event per rule + account + principal per aligned window of this many minutes. */
    grouping: z
      .strictObject({ windowMinutes: wholeNumber(1, 1440, 'minutes').default(60) })
      .default({ windowMinutes: 60 }),
  })
  .default({ ...RULES_DEFAULTS, folders: [], enable: [], disable: [], placeholders: {}, allow: [] });

/** Defaults of the `detection` section (also the value used when the section is left out). */
export const DETECTION_DEFAULTS = {
  enabled: true,
  scheduleMinutes: 1,
  memoryMb: 1024,
  timeoutSeconds: 120,
  reservedConcurrency: 10,
  evaluatorConcurrency: 10,
  batchSize: 10,
  maxBatchingWindowSeconds: 5,
  maxReceiveCount: 5,
  logRetentionDays: 90,
  alarmEmails: [] as string[],
  publishToDefaultBus: false,
  dedupeRetentionDays: 35,
  lagAlarmMinutes: 15,
  detector: {} as Record<string, unknown>,
  rules: RULES_DEFAULTS,
};

const detection = z
  .strictObject({
    /** Deploy the detection pipeline (DetectionStack) and turn on EventBridge notifications on the archive. */
    enabled: z.boolean({ error: 'must be true or false' }).default(DETECTION_DEFAULTS.enabled),
    /**
     * Minutes between two evaluations: recorded files are applied and insights published at each, so this
     * and the engine's reorder window (2 min) set the latency. It is also the engine's `tickMinutes`.
     */
    scheduleMinutes: wholeNumber(1, 60, 'minutes').default(DETECTION_DEFAULTS.scheduleMinutes),
    /** Memory of both functions, MB (CPU scales with it). */
    memoryMb: wholeNumber(256, 10_240, 'MB').default(DETECTION_DEFAULTS.memoryMb),
    /** Timeout of both functions, seconds; the queue's visibility timeout is 6 × this. */
    timeoutSeconds: wholeNumber(10, 900, 'seconds').default(DETECTION_DEFAULTS.timeoutSeconds),
    /** Reserved concurrency of the ingest function (reads and records files; shares no state). */
    reservedConcurrency: wholeNumber(1, 1000, 'executions').default(DETECTION_DEFAULTS.reservedConcurrency),
    /** Evaluator invocations at once: each takes one scan segment (~250 partitions) of an evaluation. */
    evaluatorConcurrency: wholeNumber(1, 1000, 'executions').default(DETECTION_DEFAULTS.evaluatorConcurrency),
    /** SQS messages (log files) per ingest invocation. */
    batchSize: wholeNumber(1, 100, 'messages').default(DETECTION_DEFAULTS.batchSize),
    /** Seconds the event source mapping waits to fill a batch. */
    maxBatchingWindowSeconds: wholeNumber(0, 300, 'seconds').default(DETECTION_DEFAULTS.maxBatchingWindowSeconds),
    /** Deliveries of a message before it moves to the dead-letter queue. */
    maxReceiveCount: wholeNumber(1, 1000, 'receives').default(DETECTION_DEFAULTS.maxReceiveCount),
    /** Retention of the functions' log groups. */
    logRetentionDays: logRetentionDays.default(DETECTION_DEFAULTS.logRetentionDays),
    /** Addresses subscribed (by email, each must confirm) to the alarm and high-severity insight topic. */
    alarmEmails: z
      .array(z.string().regex(EMAIL, { error: 'must be an email address such as "secops@example.com"' }))
      .default([]),
    /** Also put every insight on the account's default event bus (besides the `trailsight` bus). */
    publishToDefaultBus: z.boolean({ error: 'must be true or false' }).default(DETECTION_DEFAULTS.publishToDefaultBus),
    /**
     * Days a recorded file is remembered (its delta item's TTL; at least twice the detector's
     * `compaction.maxIntervalHours` plus a day, so a delta outlives the compaction that folds it): a redelivery
     * within them is a counted duplicate; a file redriven or backfilled later than that is applied again, as a
     * late file.
     */
    dedupeRetentionDays: wholeNumber(1, 365, 'days').default(DETECTION_DEFAULTS.dedupeRetentionDays),
    /** Alarm when the oldest queued log file is older than this many minutes. */
    lagAlarmMinutes: wholeNumber(1, 24 * 60, 'minutes').default(DETECTION_DEFAULTS.lagAlarmMinutes),
    /** Detection thresholds and suppressions (docs/detection.md), passed to the functions as JSON, checked at cold start. */
    detector: z.record(z.string(), z.unknown(), { error: 'must be a JSON object (see docs/detection.md)' }).default({}),
    /** The detection rules (docs/rules.md): see the block above. */
    rules: detectionRules,
  })
  .default({ ...DETECTION_DEFAULTS, alarmEmails: [], detector: {} });

// ---------------------------------------------------------------------------------------------------------------
// Evidence protection and integrity verification (docs/deploy.md "What the archive guarantees", docs/integrity.md)
// ---------------------------------------------------------------------------------------------------------------

// IAM role or user ARN, with an optional path (what aws:PrincipalArn carries for a role session).
const IAM_PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):(role|user)\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,128}$/;
const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
// Organizations policy targets: the root, an OU or an account.
const ORGANIZATION_TARGET = /^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|\d{12})$/;

/** Defaults of the `integrity` section (also the value used when the section is left out). */
export const INTEGRITY_DEFAULTS = {
  enabled: true,
  sweepMinutes: 60,
  lookbackHours: 26,
  overdueMinutes: 150,
};

const evidenceKeys = {
  /**
   * The one role that may delete or re-lock archived files, disable or delete the archive key, or change its key
   * policy (break glass). It must exist in the log archive account before the archive is deployed. Unset: nobody can,
   * until the policies themselves are changed by a deployment.
   */
  breakGlassRoleArn: z
    .string()
    .regex(IAM_ROLE_ARN, { error: 'must be an IAM role ARN such as "arn:aws:iam::222222222222:role/BreakGlass"' })
    .optional(),
  /**
   * Principals that administer the archive key (describe, tag, rotate, aliases) without being able to use it. The
   * deployment role is always one. They must exist before the archive is deployed (KMS checks key policy principals).
   */
  keyAdministrators: z
    .array(
      z.string().regex(IAM_PRINCIPAL_ARN, {
        error: 'must be an IAM role or user ARN such as "arn:aws:iam::222222222222:role/KeyAdmin"',
      }),
    )
    .default([]),
  /**
   * A service control policy, created in the management account and attached to these roots, OUs or accounts, that
   * denies stopping or changing the Trailsight trails and tampering with the archive bucket and key.
   */
  scp: z
    .union(
      [
        z.literal(false),
        z.strictObject({
          targetIds: z
            .array(
              z.string().regex(ORGANIZATION_TARGET, {
                error: 'must be a root ("r-…"), OU ("ou-…-…") or 12-digit account ID',
              }),
            )
            .min(1, { error: 'must list at least one root, OU or account ID' }),
        }),
      ],
      { error: 'must be false or { "targetIds": ["r-…" | "ou-…" | "<account>"] }' },
    )
    .default(false),
  /**
   * Accept an Object Lock that is off, in GOVERNANCE mode or shorter than retention for an organization (synth then
   * warns instead of failing).
   */
  allowWeakObjectLock: z.boolean({ error: 'must be true or false' }).default(false),
  /** Continuous digest-chain verification (the TrailsightIntegrity stack, docs/integrity.md). */
  integrity: z
    .strictObject({
      /** Deploy TrailsightIntegrity and turn on EventBridge notifications on the archive. */
      enabled: z.boolean({ error: 'must be true or false' }).default(INTEGRITY_DEFAULTS.enabled),
      /** Minutes between two sweeps (digests that never arrived, gaps, planted or deleted files). */
      sweepMinutes: wholeNumber(15, 24 * 60, 'minutes').default(INTEGRITY_DEFAULTS.sweepMinutes),
      /** Hours of delivery each sweep re-checks, back from its start. */
      lookbackHours: wholeNumber(2, 24 * 14, 'hours').default(INTEGRITY_DEFAULTS.lookbackHours),
      /** A chain whose newest digest ends longer ago than this is reported as overdue (digests are hourly). */
      overdueMinutes: wholeNumber(70, 24 * 60, 'minutes').default(INTEGRITY_DEFAULTS.overdueMinutes),
      /** Addresses subscribed to the integrity alarm topic. @default - detection.alarmEmails */
      alarmEmails: z
        .array(z.string().regex(EMAIL, { error: 'must be an email address such as "secops@example.com"' }))
        .optional(),
    })
    .default({ ...INTEGRITY_DEFAULTS }),
};

/**
 * Why an Object Lock configuration is weaker than evidence needs, or undefined when it is not: off, GOVERNANCE (any
 * principal with s3:BypassGovernanceRetention can delete or overwrite), or shorter than retention (the last years of
 * a file's life are unprotected).
 */
export function objectLockWeakness(archive: {
  readonly retentionDays: number;
  readonly objectLock: false | { readonly mode: string; readonly days: number };
}): string | undefined {
  const lock = archive.objectLock;
  if (!lock) return 'Object Lock is off: any principal allowed s3:DeleteObjectVersion can erase log files';
  const reasons: string[] = [];
  if (lock.mode === 'GOVERNANCE')
    reasons.push(
      'GOVERNANCE mode lets any principal with s3:BypassGovernanceRetention delete or overwrite locked files',
    );
  if (lock.days < archive.retentionDays)
    reasons.push(
      `the lock (${lock.days} days) is shorter than retention (${archive.retentionDays} days), so files are unprotected for their last ${archive.retentionDays - lock.days} days`,
    );
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

/** The part of the configuration the evidence rules read. */
interface EvidenceView {
  readonly organization: false | { readonly organizationId: string };
  readonly accounts: { readonly management?: string; readonly logArchive?: string };
  readonly archive: Parameters<typeof objectLockWeakness>[0] & { readonly existing?: unknown };
  readonly allowWeakObjectLock: boolean;
  readonly breakGlassRoleArn?: string;
  readonly scp: false | { readonly targetIds: readonly string[] };
}

/** The cross-field rules of the evidence keys. */
function evidenceRules(c: EvidenceView, ctx: z.RefinementCtx): void {
  const weakness = objectLockWeakness(c.archive);
  // An existing archive's Object Lock is its owner's (existingArchiveRules).
  if (c.organization && weakness && !c.allowWeakObjectLock && !c.archive.existing) {
    ctx.addIssue({
      code: 'custom',
      path: ['archive', 'objectLock'],
      message: `is too weak for an organization's evidence: ${weakness}; use { "mode": "COMPLIANCE", "days": ${c.archive.retentionDays} } (decide before the first deploy), or set allowWeakObjectLock to true to accept it`,
    });
  }
  const logArchive = c.accounts.logArchive ?? c.accounts.management;
  const breakGlassAccount = c.breakGlassRoleArn ? IAM_ROLE_ARN.exec(c.breakGlassRoleArn)?.[1] : undefined;
  if (breakGlassAccount && logArchive && breakGlassAccount !== logArchive) {
    ctx.addIssue({
      code: 'custom',
      path: ['breakGlassRoleArn'],
      message: `must be a role in the log archive account (${logArchive}), where the archive bucket and key are`,
    });
  }
  if (c.scp) {
    if (!c.organization) {
      ctx.addIssue({
        code: 'custom',
        path: ['scp'],
        message: 'needs an organization: service control policies exist only in AWS Organizations; set scp to false',
      });
    } else if (c.accounts.management === undefined || c.accounts.logArchive === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['scp'],
        message:
          'needs accounts.management (where the policy is created) and accounts.logArchive (whose archive it protects)',
      });
    } else if (c.accounts.logArchive === c.accounts.management) {
      ctx.addIssue({
        code: 'custom',
        path: ['scp'],
        message:
          'cannot protect an archive in the management account: SCPs never apply to the management account; move the archive to a log archive account or set scp to false',
      });
    }
  }
}
// ---- existing archive (issue 12, "Bring your own trail and archive"; docs/deploy.md) ----

// S3 bucket names: 3-63 lower-case letters, digits, "." and "-", starting and ending with a letter or digit.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// What CloudTrail accepts as S3KeyPrefix is any key text up to 200 characters; Trailsight takes the safe subset (no "*",
// "?", "$", "{": the prefix lands in IAM ARNs, EventBridge wildcards and the Glue location template), one or more
// segments separated by single "/", none at either end.
const KEY_PREFIX = /^[A-Za-z0-9!_.'()-]+(?:\/[A-Za-z0-9!_.'()-]+)*$/;
// A KMS key ARN (an alias ARN names no key an IAM policy can grant): a key ID or a multi-Region key ID.
const KMS_KEY_ARN =
  /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/(?:[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
// Buckets named by AWS Control Tower and Landing Zone Accelerator carry their account and Region.
const LANDING_ZONE_BUCKET =
  /^(?:aws-controltower-logs|aws-accelerator-central-logs)-(\d{12})-([a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d)$/;

/**
 * An archive another deployment owns (AWS Control Tower, Landing Zone Accelerator, an existing trail): Trailsight
 * creates no trail and no archive bucket, and reads `<bucketName>/[<keyPrefix>/]AWSLogs/[<organizationId>/]`.
 */
const existingArchive = z.strictObject({
  /** The bucket the existing trail delivers to, in `accounts.logArchive` and `homeRegion`. */
  bucketName: z.string({ error: 'must be an S3 bucket name' }).regex(BUCKET_NAME, {
    error:
      'must be an S3 bucket name: 3-63 lower-case letters, digits, "." and "-", starting and ending with a letter or digit',
  }),
  /**
   * The trail's S3 key prefix: what comes before `AWSLogs/` in the keys, without a "/" at either end
   * (`"o-a1b2c3d4e5"` for Control Tower, `"cloudtrail-organization"` for Landing Zone Accelerator).
   * @default - the keys start with `AWSLogs/`
   */
  keyPrefix: z
    .string({ error: 'must be a key prefix such as "o-a1b2c3d4e5"' })
    .max(200, { error: 'must be at most 200 characters (the CloudTrail limit)' })
    .regex(KEY_PREFIX, {
      error:
        'must be the part of the keys before AWSLogs/, segments of letters, digits and !_.\'()- separated by single "/", with no "/" at either end (e.g. "o-a1b2c3d4e5")',
    })
    .refine((p) => !p.split('/').includes('AWSLogs'), {
      error:
        'must stop before AWSLogs/: for keys o-a1b2c3d4e5/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/… write "o-a1b2c3d4e5", and the organization in organization.organizationId',
    })
    .optional(),
  /**
   * ARN of the KMS key the log files are encrypted with (SSE-KMS), in `homeRegion`; the functions and the compaction
   * decrypt with it, and its owner must allow them (docs/deploy.md).
   * @default - SSE-S3 (Control Tower's default): no key to use
   */
  kmsKeyArn: z
    .string({ error: 'must be a KMS key ARN' })
    .regex(KMS_KEY_ARN, {
      error:
        'must be a KMS key ARN such as "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" (not an alias: IAM grants name keys)',
    })
    .optional(),
});

/** The part of the configuration the existing-archive rules read. */
interface ExistingArchiveView {
  readonly homeRegion: string;
  readonly regions: 'all' | readonly string[];
  readonly globalServiceEvents: boolean;
  readonly trailName: string;
  readonly accounts: { readonly management?: string; readonly logArchive?: string; readonly audit?: string };
  readonly managementEvents: { readonly readWrite: string; readonly excludeSources: readonly string[] };
  readonly dataEvents: { readonly s3: unknown; readonly lambda: unknown };
  readonly cloudWatchLogs: unknown;
  readonly nativeInsights: readonly string[];
  readonly archive: {
    readonly existing?: z.output<typeof existingArchive>;
    readonly transition: unknown;
    readonly objectLock: unknown;
  };
  readonly breakGlassRoleArn?: string;
  readonly keyAdministrators: readonly string[];
  readonly scp: unknown;
  readonly allowWeakObjectLock: boolean;
}

/**
 * With `archive.existing`, the settings of Trailsight's own trails and archive bucket have nothing to apply to: each
 * one set away from its default fails with the key and the fix, as do a key or bucket in another Region.
 */
function existingArchiveRules(c: ExistingArchiveView, ctx: z.RefinementCtx): void {
  const existing = c.archive.existing;
  if (!existing) return;
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const noTrail = 'archive.existing creates no trail: the existing trail records what it records; remove it';
  const noBucket =
    "applies to Trailsight's own archive bucket; with archive.existing the bucket's owner sets it there: remove it";
  if (c.regions !== 'all')
    issue(['regions'], `selects the Regions of Trailsight's trails, and ${noTrail} (the table projects every Region)`);
  if (!c.globalServiceEvents) issue(['globalServiceEvents'], `is a trail setting; ${noTrail}`);
  if (c.trailName !== 'trailsight') issue(['trailName'], `names Trailsight's trail; ${noTrail}`);
  if (c.managementEvents.readWrite !== 'All' || c.managementEvents.excludeSources.length > 0)
    issue(['managementEvents'], `is a trail setting; ${noTrail}`);
  if (c.dataEvents.s3 !== false || c.dataEvents.lambda !== false)
    issue(['dataEvents'], `is a trail setting; ${noTrail}`);
  if (c.cloudWatchLogs !== false) issue(['cloudWatchLogs'], `is a trail setting; ${noTrail}`);
  if (c.nativeInsights.length > 0) issue(['nativeInsights'], `is a trail setting; ${noTrail}`);
  if (c.archive.transition !== false) issue(['archive', 'transition'], noBucket);
  if (c.archive.objectLock !== false) issue(['archive', 'objectLock'], noBucket);
  if (c.allowWeakObjectLock) issue(['allowWeakObjectLock'], noBucket);
  if (c.breakGlassRoleArn !== undefined) issue(['breakGlassRoleArn'], noBucket);
  if (c.keyAdministrators.length > 0)
    issue(['keyAdministrators'], "applies to Trailsight's own archive key; remove it");
  if (c.scp !== false)
    issue(
      ['scp'],
      "protects Trailsight's own trails, bucket and key; the existing archive's owner protects it: remove it",
    );
  if (c.accounts.management !== undefined)
    issue(
      ['accounts', 'management'],
      "is the account of Trailsight's trails, and archive.existing creates none; set accounts.logArchive to the account that owns archive.existing.bucketName",
    );
  if (c.accounts.audit !== undefined && c.accounts.logArchive === undefined)
    issue(
      ['accounts', 'logArchive'],
      'is required with accounts.audit: it is the account that owns archive.existing.bucketName, where the detection and integrity stacks go',
    );
  const named = LANDING_ZONE_BUCKET.exec(existing.bucketName);
  if (named && c.accounts.logArchive !== undefined && named[1] !== c.accounts.logArchive)
    issue(
      ['accounts', 'logArchive'],
      `must be the account that owns ${existing.bucketName} (${named[1]}): S3 sends the bucket's events to that account's EventBridge`,
    );
  if (named && named[2] !== c.homeRegion)
    issue(
      ['homeRegion'],
      `must be the Region of ${existing.bucketName} (${named[2]}): S3 sends the bucket's events to EventBridge in its own Region`,
    );
  const keyRegion = existing.kmsKeyArn ? KMS_KEY_ARN.exec(existing.kmsKeyArn)?.[1] : undefined;
  if (keyRegion !== undefined && keyRegion !== c.homeRegion)
    issue(
      ['archive', 'existing', 'kmsKeyArn'],
      `is in ${keyRegion}, but SSE-KMS keys are in their bucket's Region (homeRegion ${c.homeRegion}): check the key, or homeRegion`,
    );
}

// ---- findings (issue 12): findings in the tools a SOC already watches ----

/** Defaults of `findings.securityHub` when it is turned on with `{}`. */
export const SECURITY_HUB_DEFAULTS = {
  resolveWorkflowOnEnd: false,
  batchSize: 100,
  maxBatchingWindowSeconds: 10,
  maxReceiveCount: 5,
  logRetentionDays: 90,
  alarmEmails: [] as string[],
};

const findings = z
  .strictObject({
    /**
     * `false`, or import every insight into AWS Security Hub CSPM (ASFF, the account's default product) from
     * its own stack, `TrailsightFindings`, next to the detection pipeline (docs/findings.md).
     */
    securityHub: z
      .union(
        [
          z.literal(false),
          z.strictObject({
            /**
             * Also deploy a Security Hub automation rule that sets the workflow status of an ended insight's
             * finding from NEW to RESOLVED (automation rules need the Security Hub administrator account).
             */
            resolveWorkflowOnEnd: z
              .boolean({ error: 'must be true or false' })
              .default(SECURITY_HUB_DEFAULTS.resolveWorkflowOnEnd),
            /** Bus events per invocation (one BatchImportFindings request takes 100 findings). */
            batchSize: wholeNumber(1, 100, 'events').default(SECURITY_HUB_DEFAULTS.batchSize),
            /** Seconds the event source mapping waits to fill a batch. */
            maxBatchingWindowSeconds: wholeNumber(0, 300, 'seconds').default(
              SECURITY_HUB_DEFAULTS.maxBatchingWindowSeconds,
            ),
            /** Deliveries of an event before it moves to the dead-letter queue. */
            maxReceiveCount: wholeNumber(1, 1000, 'receives').default(SECURITY_HUB_DEFAULTS.maxReceiveCount),
            /** Retention of the function's log group. */
            logRetentionDays: logRetentionDays.default(SECURITY_HUB_DEFAULTS.logRetentionDays),
            /** Addresses subscribed (by email, each must confirm) to the findings alarms. */
            alarmEmails: z
              .array(z.string().regex(EMAIL, { error: 'must be an email address such as "secops@example.com"' }))
              .default([]),
          }),
        ],
        { error: 'must be false or an object such as {} or { "resolveWorkflowOnEnd": true }' },
      )
      .default(false),
  })
  .default({ securityHub: false });

/** The configuration schema. `TrailsightConfig` is its output type. */
export const configSchema = z
  .strictObject({
    /** Region of the archive bucket, its key, the Athena resources and the detection pipeline. */
    homeRegion: z
      .string()
      .regex(REGION, { error: 'must be an AWS Region code such as "us-east-1"' })
      .default('us-east-1'),
    /** `"all"`: one multi-region trail; a list: one single-region trail per listed Region, each in its own stack. */
    regions: z
      .union(
        [
          z.literal('all'),
          z
            .array(z.string().regex(REGION, { error: 'must be an AWS Region code such as "eu-west-1"' }))
            .min(1, { error: 'must list at least one Region, or be "all"' }),
        ],
        { error: 'must be "all" or a list of Region codes such as ["us-east-1", "eu-west-1"]' },
      )
      .default('all'),
    /**
     * Record the events of the global services (IAM, STS, CloudFront, console sign-in). CloudTrail records them
     * in one Region only (us-east-1 in the commercial partition, since 22 November 2021), so with listed Regions
     * that Region's trail carries them and no other trail does; a multi-Region trail always records them.
     * `false` (listed Regions only) accepts going without them.
     */
    globalServiceEvents: z.boolean({ error: 'must be true or false' }).default(true),
    /**
     * `false` for an account trail, or the organization whose organization trail is created (with `archive.existing`:
     * whose organization trail delivers there, under `AWSLogs/<organizationId>/`).
     */
    organization: z
      .union(
        [
          z.literal(false),
          z.strictObject({
            organizationId: z
              .string()
              .regex(ORGANIZATION_ID, { error: 'must be an Organizations ID such as "o-a1b2c3d4e5"' }),
          }),
        ],
        { error: 'must be false (account trail) or { "organizationId": "o-..." } (organization trail)' },
      )
      .default(false),
    /** Account placement. All unset: every stack in the deploying account (the default). */
    accounts: z
      .strictObject({
        /** Account owning the trail(s): the organization's management account for an organization trail. */
        management: accountId.optional(),
        /** Account of the archive bucket and its key. @default - the management account */
        logArchive: accountId.optional(),
        /** Account of the Glue table and the Athena workgroup. @default - the log archive account */
        audit: accountId.optional(),
      })
      .default({}),
    /** Trail name. It is a contract: the bucket and key policies pin `aws:SourceArn` to the trail ARN. */
    trailName: z
      .string()
      .regex(TRAIL_NAME, {
        error: 'must be 3-128 letters, digits, ".", "_" or "-", starting and ending with a letter or digit',
      })
      .default('trailsight'),
    managementEvents: z
      .strictObject({
        readWrite: z
          .enum(['All', 'ReadOnly', 'WriteOnly', 'None'], {
            error: 'must be one of "All", "ReadOnly", "WriteOnly", "None"',
          })
          .default('All'),
        /** High-volume sources left out of the management events. */
        excludeSources: z
          .array(
            z.enum(['kms.amazonaws.com', 'rdsdata.amazonaws.com'], {
              error: 'must be "kms.amazonaws.com" or "rdsdata.amazonaws.com" (the only sources CloudTrail can exclude)',
            }),
          )
          .default([]),
      })
      .default({ readWrite: 'All', excludeSources: [] }),
    dataEvents: z
      .strictObject({
        s3: z
          .union([z.literal(false), s3DataEvents], {
            error: 'must be false or { "resources": "all" | ["arn:aws:s3:::<bucket>/<prefix>"], "readWrite": "All" }',
          })
          .default(false),
        lambda: z
          .union([z.literal(false), lambdaDataEvents], {
            error: 'must be false or { "functions": "all" | ["<function ARN>"], "readWrite": "All" }',
          })
          .default(false),
      })
      .default({ s3: false, lambda: false }),
    /** Also deliver to a CloudWatch Logs log group, kept this many days. */
    cloudWatchLogs: z
      .union(
        [
          z.literal(false),
          z.strictObject({
            retentionDays: z
              .number()
              .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
                error: `must be one of the CloudWatch Logs retention values ${LOG_RETENTION_DAYS.join(', ')}`,
              })
              .default(365),
          }),
        ],
        { error: 'must be false or { "retentionDays": <CloudWatch Logs retention> }' },
      )
      .default(false),
    /** AWS-native CloudTrail Insights (billed per event analysed), for comparison with Trailsight's own. */
    nativeInsights: z
      .array(
        z.enum(['ApiCallRateInsight', 'ApiErrorRateInsight'], {
          error: 'must be "ApiCallRateInsight" or "ApiErrorRateInsight"',
        }),
      )
      .default([]),
    archive: z
      .strictObject({
        /** Days a log file is kept before it expires. */
        retentionDays: positiveDays.default(2557),
        /** Move log files to an archive tier after N days. Athena cannot read GLACIER or DEEP_ARCHIVE objects. */
        transition: z
          .union(
            [
              z.literal(false),
              z.strictObject({
                storageClass: z.enum(['GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE'], {
                  error: 'must be "GLACIER_IR", "GLACIER" or "DEEP_ARCHIVE"',
                }),
                afterDays: positiveDays,
              }),
            ],
            {
              error:
                'must be false or { "storageClass": "GLACIER_IR" | "GLACIER" | "DEEP_ARCHIVE", "afterDays": <days> }',
            },
          )
          .default(false),
        /** S3 Object Lock default retention (write once, read many), or `false`. Fixed at bucket creation. */
        objectLock: z
          .union(
            [
              z.literal(false),
              z.strictObject({
                mode: z.enum(['GOVERNANCE', 'COMPLIANCE'], { error: 'must be "GOVERNANCE" or "COMPLIANCE"' }),
                days: positiveDays,
              }),
            ],
            { error: 'must be false or { "mode": "GOVERNANCE" | "COMPLIANCE", "days": <days> }' },
          )
          .default(false),
        /** Days a deleted or overwritten version is kept (versioning keeps deletes recoverable). */
        noncurrentVersionRetentionDays: positiveDays.default(90),
        /** Days the S3 server access logs of the archive bucket are kept. */
        accessLogRetentionDays: positiveDays.default(365),
        /** An existing archive to read instead of creating trails and a bucket (block "existing archive" above). */
        existing: existingArchive.optional(),
      })
      .default({
        retentionDays: 2557,
        transition: false,
        objectLock: false,
        noncurrentVersionRetentionDays: 90,
        accessLogRetentionDays: 365,
      }),
    analytics: z
      .strictObject({
        databaseName: z
          .string()
          .regex(GLUE_NAME, { error: 'must be lower-case letters, digits and "_" (a Glue database name)' })
          .default('trailsight'),
        workGroupName: z
          .string()
          .regex(WORKGROUP_NAME, { error: 'must be 1-128 letters, digits, ".", "_" or "-" (an Athena workgroup name)' })
          .default('trailsight'),
        /** Athena cancels a query that scans more than this many bytes (minimum 10 MB). */
        bytesScannedCutoffPerQuery: z
          .number()
          .int()
          .min(10_485_760, { error: 'must be at least 10485760 (10 MB), the Athena minimum' })
          .default(10_737_418_240),
        /** Days query results are kept in the results bucket. */
        resultsExpirationDays: positiveDays.default(30),
        /**
         * Account IDs the table projects, fixed. Unset: the trail account (account trail), or, for an organization
         * trail or an existing archive, the account folders found in the archive, kept current by the account sync
         * (lib/analytics/account-sync.ts), so every query runs across all accounts without naming one.
         */
        accountIds: z
          .array(accountId)
          .min(1, { error: 'must list at least one account ID, or be left out' })
          .optional(),
        /**
         * The daily compaction of the JSON table into the Parquet table `cloudtrail_parquet` (lib/analytics/compaction.ts):
         * each day, every account's previous delivery day is rewritten as Parquet, so queries scan a fraction of the bytes.
         */
        compaction: z
          .strictObject({
            /** Deploy the compacted table, its bucket, the Step Functions state machine and its schedule. */
            enabled: z.boolean({ error: 'must be true or false' }).default(true),
            /** Hour of the day (UTC) the compaction of the previous delivery day starts; the day's files are complete by then. */
            hourUtc: wholeNumber(0, 23, 'hours').default(1),
            /** Accounts compacted at the same time (each runs one Athena INSERT per day). */
            maxConcurrency: wholeNumber(1, 20, 'accounts').default(4),
          })
          .default({ enabled: true, hourUtc: 1, maxConcurrency: 4 }),
      })
      .default({
        databaseName: 'trailsight',
        workGroupName: 'trailsight',
        bytesScannedCutoffPerQuery: 10_737_418_240,
        resultsExpirationDays: 30,
        compaction: { enabled: true, hourUtc: 1, maxConcurrency: 4 },
      }),
    /** The serverless detection pipeline (docs/pipeline.md). */
    detection,
    // Evidence protection and integrity verification: see the block above.
    ...evidenceKeys,
    /** Findings for Security Hub (docs/findings.md). */
    findings,
  })
  .superRefine((c, ctx) => {
    if (c.regions === 'all' && !c.globalServiceEvents) {
      ctx.addIssue({
        code: 'custom',
        path: ['globalServiceEvents'],
        message:
          'cannot be false with regions "all": a multi-Region trail always records the global service events; remove the setting, or list the Regions',
      });
    }
    if (c.regions !== 'all') {
      const globalRegion = globalServiceEventsRegion(c.homeRegion);
      if (c.globalServiceEvents && !c.regions.includes(globalRegion)) {
        ctx.addIssue({
          code: 'custom',
          path: ['regions'],
          message: `does not include "${globalRegion}", the only Region where CloudTrail records IAM, STS, CloudFront and console sign-in events (since 22 November 2021); add "${globalRegion}" to the list (recommended), or set globalServiceEvents to false to go without them`,
        });
      }
      const duplicates = c.regions.filter((r, i) => c.regions.indexOf(r) !== i);
      if (duplicates.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['regions'],
          message: `lists ${duplicates.join(', ')} twice; list each Region once`,
        });
      }
    }
    if (c.findings.securityHub && !c.detection.enabled) {
      ctx.addIssue({
        code: 'custom',
        path: ['findings', 'securityHub'],
        message:
          'needs the detection pipeline, whose trailsight bus carries the insights: set detection.enabled to true, or findings.securityHub to false',
      });
    }
    const { transition, objectLock, retentionDays } = c.archive;
    if (transition && transition.afterDays >= retentionDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['archive', 'transition', 'afterDays'],
        message: `must be less than archive.retentionDays (${retentionDays}), or the files expire before they move; lower it or set transition to false`,
      });
    }
    if (objectLock && objectLock.days > retentionDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['archive', 'objectLock', 'days'],
        message: `must not exceed archive.retentionDays (${retentionDays}): a locked file cannot expire; lower it or raise retentionDays`,
      });
    }
    if (c.managementEvents.readWrite === 'None' && !c.dataEvents.s3 && !c.dataEvents.lambda) {
      ctx.addIssue({
        code: 'custom',
        path: ['managementEvents', 'readWrite'],
        message:
          'is "None" and no data events are configured, so the trail would log nothing; enable management or data events',
      });
    }
    const { management, logArchive, audit } = c.accounts;
    const crossAccount = new Set([management, logArchive ?? management, audit ?? logArchive ?? management]).size > 1;
    // An existing archive has no trail, so no management account (its own rules below).
    if (crossAccount && management === undefined && !c.archive.existing) {
      ctx.addIssue({
        code: 'custom',
        path: ['accounts', 'management'],
        message:
          'is required when accounts.logArchive or accounts.audit is set: cross-account names (trail ARN, bucket, key alias) are built from it',
      });
    }
    if (
      c.analytics.accountIds &&
      management !== undefined &&
      !c.organization &&
      !c.analytics.accountIds.includes(management)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['analytics', 'accountIds'],
        message: `must include accounts.management (${management}): an account trail writes only under AWSLogs/${management}/`,
      });
    }
  })
  .superRefine((c, ctx) => evidenceRules(c, ctx))
  .superRefine((c, ctx) => existingArchiveRules(c, ctx));

/** The validated configuration, with every default filled in. */
export type TrailsightConfig = z.output<typeof configSchema>;
/** The configuration as written in cdk.json (defaults optional). */
export type TrailsightConfigInput = z.input<typeof configSchema>;

/**
 * Validates a raw configuration value.
 *
 * @param raw the parsed JSON value of the `trailsight` context key (or of the config file)
 * @param source where it came from, for the error message
 * @throws Error listing every invalid key with the value received and the fix
 */
export function parseConfig(raw: unknown, source = `context key "${CONFIG_CONTEXT_KEY}"`): TrailsightConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues
    .flatMap((issue) => specificIssues(issue, []))
    .map((issue) => {
      const key = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      const received = valueAt(raw, issue.path);
      const message =
        issue.code === 'unrecognized_keys'
          ? `has unknown key(s) ${issue.keys.join(', ')}; remove or rename them`
          : issue.message;
      return `  - ${key} = ${received}: ${message}`;
    });
  return fail(`Invalid Trailsight configuration (${source}):\n${lines.join('\n')}`);
}

/** A source of context values: `app.node` in bin/, or a plain record in tests. */
export interface ContextReader {
  tryGetContext(key: string): unknown;
}

/**
 * Reads and validates the configuration from CDK context.
 *
 * `-c trailsightConfigFile=<path>` (relative to `baseDir`) replaces the `trailsight` key as a whole; so does
 * `-c trailsight='<json>'` (the CLI passes it as a string). Otherwise the object in `cdk.json` is used.
 */
export function readConfig(context: ContextReader, baseDir = process.cwd()): TrailsightConfig {
  const file = context.tryGetContext(CONFIG_FILE_CONTEXT_KEY);
  if (file !== undefined) {
    if (typeof file !== 'string' || file.length === 0) {
      return fail(`Context key "${CONFIG_FILE_CONTEXT_KEY}" = ${JSON.stringify(file)}: must be a path to a JSON file`);
    }
    const filePath = path.resolve(baseDir, file);
    let text: string;
    try {
      text = fs.readFileSync(filePath, 'utf8');
    } catch (e) {
      return fail(
        `Context key "${CONFIG_FILE_CONTEXT_KEY}" = "${file}": cannot read ${filePath} (${(e as Error).message}); check the path`,
      );
    }
    return parseConfig(parseJson(text, `file ${file}`), `file ${file}`);
  }
  const raw = context.tryGetContext(CONFIG_CONTEXT_KEY);
  return parseConfig(typeof raw === 'string' ? parseJson(raw, `context key "${CONFIG_CONTEXT_KEY}"`) : raw);
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail(
      `Invalid Trailsight configuration (${source}): not valid JSON (${(e as Error).message}); fix the JSON syntax`,
    );
  }
}

type Issue = z.core.$ZodIssue;

/**
 * Replaces a failed union (`false` or an object, `"all"` or a list) by the issues of the branch the value was
 * meant for: the branch whose type matched (an object with a bad field, a list that is empty), so the message
 * names that field. When no branch matched the type, the union's own message stands.
 */
function specificIssues(issue: Issue, prefix: readonly PropertyKey[]): Issue[] {
  const at = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union') {
    const branch = issue.errors.find(
      (issues) =>
        issues.length > 0 &&
        !issues.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')),
    );
    if (branch) return branch.flatMap((i) => specificIssues(i, at));
  }
  return [{ ...issue, path: at } as Issue];
}

function valueAt(raw: unknown, issuePath: readonly PropertyKey[]): string {
  let value: unknown = raw;
  for (const key of issuePath) {
    if (value === null || typeof value !== 'object') return 'undefined';
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function fail(message: string): never {
  throw new Error(message);
}
