import { aws_iam as iam, aws_organizations as organizations, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import {
  BUCKET_CONFIGURATION_ACTIONS,
  BUCKET_DESTRUCTION_ACTIONS,
  KEY_DESTRUCTION_ACTIONS,
  KEY_POLICY_ACTIONS,
  TRAIL_TAMPERING_ACTIONS,
} from '../log-archive/protected-actions';

/** Organizations' limit on the size of a service control policy document, in characters. */
export const SCP_MAX_CHARACTERS = 5120;

/** Properties of an {@link EvidenceGuardrail}. */
export interface EvidenceGuardrailProps {
  /** Roots (`r-…`), OUs (`ou-…`) or accounts the policy is attached to. */
  readonly targetIds: readonly string[];
  /** Name of the Trailsight trails. */
  readonly trailName: string;
  /** The account that owns the trails (the organization's management account). */
  readonly trailAccount: string;
  /** Name of the archive bucket. */
  readonly archiveBucketName: string;
  /** The log archive account, where the archive bucket and key are. */
  readonly archiveAccount: string;
  /** The home Region, where the archive key is. */
  readonly archiveRegion: string;
  /** Alias of the archive key, e.g. `alias/trailsight/archive`. */
  readonly archiveKeyAlias: string;
  /** The role that deploys the archive stack, which may still change the archive's configuration and key policy. */
  readonly archiveDeploymentRoleArn: string;
  /**
   * The one role that may still destroy evidence.
   * @default - nobody
   */
  readonly breakGlassRoleArn?: string;
  /**
   * Name of the policy in AWS Organizations.
   * @default 'trailsight-evidence-protection'
   */
  readonly policyName?: string;
}

/**
 * Defines a service control policy that protects the evidence where the archive's own policies cannot: it binds
 * every principal of the accounts it is attached to, root users included — the log archive account's root user, who
 * can always replace a bucket policy (the PutBucketPolicy API reference), and a CloudTrail delegated administrator,
 * who can stop or change the organization trail from a member account.
 *
 * It denies stopping, deleting or reshaping the Trailsight trails; changing the archive bucket's configuration (except
 * for the archive's deployment role); destroying or unlocking files (except for break glass); disabling or deleting the
 * archive key (except for break glass); and changing its policy or alias (except for the deployment role and break
 * glass). It cannot protect anything in the management account: SCPs never apply there.
 */
export class EvidenceGuardrail extends Construct {
  /** The policy (created in the management account). */
  readonly policy: organizations.CfnPolicy;
  /** The policy document. */
  readonly document: iam.PolicyDocument;

  constructor(scope: Construct, id: string, props: EvidenceGuardrailProps) {
    super(scope, id);
    if (props.targetIds.length === 0)
      throw new Error('EvidenceGuardrail: targetIds is empty; name a root, OU or account');
    const partition = Stack.of(this).partition;
    const bucketArn = `arn:${partition}:s3:::${props.archiveBucketName}`;
    const keyArns = `arn:${partition}:kms:${props.archiveRegion}:${props.archiveAccount}:key/*`;
    const aliasArn = `arn:${partition}:kms:${props.archiveRegion}:${props.archiveAccount}:${props.archiveKeyAlias}`;
    const breakGlass = props.breakGlassRoleArn ? [props.breakGlassRoleArn] : [];
    const except = (arns: readonly string[]) =>
      arns.length > 0 ? { ArnNotLike: { 'aws:PrincipalArn': [...arns] } } : undefined;
    const deny = (sid: string, actions: readonly string[], resources: string[], conditions?: Record<string, unknown>) =>
      new iam.PolicyStatement({ sid, effect: iam.Effect.DENY, actions: [...actions], resources, conditions });

    this.document = new iam.PolicyDocument({
      statements: [
        // Org trails are owned by the management account; from a member account only a CloudTrail delegated
        // administrator can change them, and this is what stops it.
        deny(
          'ProtectTrailsightTrails',
          TRAIL_TAMPERING_ACTIONS,
          [`arn:${partition}:cloudtrail:*:${props.trailAccount}:trail/${props.trailName}`],
          except(breakGlass),
        ),
        deny(
          'ProtectArchiveConfiguration',
          BUCKET_CONFIGURATION_ACTIONS,
          [bucketArn],
          except([props.archiveDeploymentRoleArn, ...breakGlass]),
        ),
        deny('ProtectArchiveEvidence', BUCKET_DESTRUCTION_ACTIONS, [bucketArn, `${bucketArn}/*`], except(breakGlass)),
        deny('ProtectArchiveKey', KEY_DESTRUCTION_ACTIONS, [keyArns], {
          'ForAnyValue:StringEquals': { 'kms:ResourceAliases': props.archiveKeyAlias },
          ...except(breakGlass),
        }),
        deny('ProtectArchiveKeyPolicy', ['kms:PutKeyPolicy'], [keyArns], {
          'ForAnyValue:StringEquals': { 'kms:ResourceAliases': props.archiveKeyAlias },
          ...except([props.archiveDeploymentRoleArn, ...breakGlass]),
        }),
        // kms:ResourceAliases does not apply to alias operations: deny them on the alias itself.
        deny(
          'ProtectArchiveKeyAlias',
          KEY_POLICY_ACTIONS.filter((a) => a !== 'kms:PutKeyPolicy'),
          [aliasArn],
          except([props.archiveDeploymentRoleArn, ...breakGlass]),
        ),
      ],
    });

    const characters = renderedLength(Stack.of(this), this.document);
    if (characters > SCP_MAX_CHARACTERS) {
      throw new Error(
        `EvidenceGuardrail: the policy has ${characters} characters, over the ${SCP_MAX_CHARACTERS} AWS Organizations accepts; shorten the trail or bucket name`,
      );
    }

    this.policy = new organizations.CfnPolicy(this, 'Resource', {
      name: props.policyName ?? 'trailsight-evidence-protection',
      description:
        'Trailsight: no stopping the trails, no tampering with the evidence archive and its key (break glass excepted)',
      type: 'SERVICE_CONTROL_POLICY',
      content: this.document,
      targetIds: [...props.targetIds],
    });
  }
}

/**
 * The policy's length once CloudFormation has resolved it, taking the longest value the partition can have
 * (`aws-us-gov`), so the check errs on the safe side.
 */
function renderedLength(stack: Stack, document: iam.PolicyDocument): number {
  const flatten = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(flatten);
    if (node === null || typeof node !== 'object') return node;
    const o = node as Record<string, unknown>;
    if (o.Ref === 'AWS::Partition') return 'aws-us-gov';
    if (Array.isArray(o['Fn::Join'])) {
      const [separator, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(flatten).join(separator);
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, flatten(v)]));
  };
  return JSON.stringify(flatten(stack.resolve(document.toJSON()))).length;
}
