/**
 * The actions that would let a principal quietly change the evidence, grouped by who may still perform them. One
 * list serves the archive's own policies (bucket and key) and the organization's service control policy, so the
 * two layers always deny the same things.
 *
 * - Deployments (the CloudFormation execution role) and break glass may change an archive bucket's configuration and
 *   the key's policy and aliases: every such change goes through a reviewed, recorded stack update.
 * - Only break glass may destroy evidence: delete objects or the bucket, shorten a lock, disable or delete the key.
 */

/** Changes to a bucket's configuration: deployments and break glass only. */
export const BUCKET_CONFIGURATION_ACTIONS = [
  's3:PutBucketPolicy',
  's3:DeleteBucketPolicy',
  's3:PutLifecycleConfiguration',
  's3:PutBucketVersioning',
  's3:PutBucketObjectLockConfiguration',
  's3:PutEncryptionConfiguration',
  's3:PutBucketLogging',
  's3:PutBucketNotification',
  's3:PutReplicationConfiguration',
  's3:PutBucketAcl',
  's3:PutBucketOwnershipControls',
  's3:PutBucketPublicAccessBlock',
] as const;

/**
 * Destroying or unlocking evidence: break glass only. `s3:DeleteObject*` also covers versions (and tags, harmlessly).
 * S3 Lifecycle expirations and transitions are not requests by a principal, so these Denies do not stop them.
 */
export const BUCKET_DESTRUCTION_ACTIONS = [
  's3:DeleteObject*',
  's3:PutObjectRetention',
  's3:BypassGovernanceRetention',
  's3:DeleteBucket',
] as const;

/** Making the key unusable, which makes every file unreadable even under a COMPLIANCE lock: break glass only. */
export const KEY_DESTRUCTION_ACTIONS = ['kms:DisableKey', 'kms:ScheduleKeyDeletion'] as const;

/**
 * Rewriting who may use the key, or pointing the alias the trails encrypt with at another key (or at nothing):
 * deployments and break glass only.
 */
export const KEY_POLICY_ACTIONS = ['kms:PutKeyPolicy', 'kms:UpdateAlias', 'kms:DeleteAlias'] as const;

/**
 * What a key administrator may do: describe, tag, rotate, manage aliases and cancel a pending deletion. No use of the
 * key (Encrypt, Decrypt, GenerateDataKey, ReEncrypt) and no kms:CreateGrant, through which an administrator could
 * grant itself use. The destructive and policy actions are listed so deployments and break glass can perform them;
 * the Denies above take them away from everyone else.
 */
export const KEY_ADMINISTRATION_ACTIONS = [
  'kms:Describe*',
  'kms:Get*',
  'kms:List*',
  'kms:CreateAlias',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:DisableKeyRotation',
  'kms:RotateKeyOnDemand',
  'kms:UpdateKeyDescription',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:CancelKeyDeletion',
  'kms:RevokeGrant',
  ...KEY_POLICY_ACTIONS,
  ...KEY_DESTRUCTION_ACTIONS,
] as const;

/** Stopping or reshaping what a trail records: deployments and break glass only (service control policy). */
export const TRAIL_TAMPERING_ACTIONS = [
  'cloudtrail:StopLogging',
  'cloudtrail:DeleteTrail',
  'cloudtrail:UpdateTrail',
  'cloudtrail:PutEventSelectors',
  'cloudtrail:PutInsightSelectors',
] as const;
