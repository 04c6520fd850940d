import { aws_cloudtrail as cloudtrail, aws_iam as iam, aws_logs as logs, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from '../compliance';
import { advancedEventSelectors, type EventSelection } from './event-selectors';

/** Properties of an {@link AuditTrail}. */
export interface AuditTrailProps {
  /** Trail name: a contract, since the archive's bucket and key policies pin `aws:SourceArn` to the trail ARN. */
  readonly trailName: string;
  /** Name of the archive bucket (possibly in another account or Region). */
  readonly bucketName: string;
  /** ARN of the archive bucket, excluded from "all buckets" S3 data events. */
  readonly bucketArn: string;
  /** ARN of the archive key or of its alias. */
  readonly kmsKeyArn: string;
  /** One trail for every Region (true), or a trail for this stack's Region only. */
  readonly multiRegion: boolean;
  /** Record global service events (IAM, STS, CloudFront, sign-in): true on one trail only (us-east-1 or multi-Region), to avoid duplicates. */
  readonly includeGlobalServiceEvents: boolean;
  /**
   * Make it an organization trail of this organization (deploy from the management account).
   * @default - an account trail
   */
  readonly organizationId?: string;
  /** Management and data events to record. */
  readonly selection: EventSelection;
  /**
   * Also deliver to a new CloudWatch Logs log group kept this many days.
   * @default - no CloudWatch Logs delivery
   */
  readonly cloudWatchLogsRetentionDays?: number;
  /**
   * AWS-native CloudTrail Insights types (billed).
   * @default - none
   */
  readonly insightTypes?: readonly ('ApiCallRateInsight' | 'ApiErrorRateInsight')[];
}

/**
 * Defines one CloudTrail trail: log file validation on, SSE-KMS with the archive key, advanced event selectors.
 *
 * Built on the L1 `CfnTrail`: the L2 `Trail` has no advanced event selectors and would add its own bucket
 * policy to a bucket that, here, may live in another account; the archive stack owns that policy.
 */
export class AuditTrail extends Construct {
  /** The trail. */
  readonly trail: cloudtrail.CfnTrail;
  /**
   * The CloudWatch Logs log group receiving the events.
   * @default - undefined when CloudWatch Logs delivery is off
   */
  readonly logGroup?: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    const stack = Stack.of(this);

    let cloudWatch: { logGroupArn: string; roleArn: string; role: iam.Role; streamArns: string[] } | undefined;
    if (props.cloudWatchLogsRetentionDays !== undefined) {
      this.logGroup = new logs.LogGroup(this, 'LogGroup', {
        retention: props.cloudWatchLogsRetentionDays as logs.RetentionDays,
      });
      const role = new iam.Role(this, 'LogsRole', {
        assumedBy: new iam.ServicePrincipal('cloudtrail.amazonaws.com'),
        description: 'Lets CloudTrail deliver the trail to its CloudWatch Logs log group',
      });
      // CloudTrail names its streams <account>_CloudTrail_<region>[_n], or <o-id>_<account>_... for organization
      // trails (CloudTrail user guide, "Sending events to CloudWatch Logs"). The Region part is left open: which
      // Region names the streams of a multi-region trail is not something this construct should have to guess.
      const streamPrefixes = [`${stack.account}_CloudTrail_`];
      if (props.organizationId) streamPrefixes.push(`${props.organizationId}_`);
      const logGroupName = this.logGroup.logGroupName;
      const streamArns = streamPrefixes.map(
        (prefix) =>
          `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:${logGroupName}:log-stream:${prefix}*`,
      );
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: streamArns }),
      );
      cloudWatch = { logGroupArn: this.logGroup.logGroupArn, roleArn: role.roleArn, role, streamArns };
    }

    this.trail = new cloudtrail.CfnTrail(this, 'Resource', {
      trailName: props.trailName,
      isLogging: true,
      s3BucketName: props.bucketName,
      kmsKeyId: props.kmsKeyArn,
      enableLogFileValidation: true,
      isMultiRegionTrail: props.multiRegion,
      includeGlobalServiceEvents: props.includeGlobalServiceEvents,
      isOrganizationTrail: props.organizationId !== undefined,
      advancedEventSelectors: advancedEventSelectors(props.selection, props.bucketArn),
      insightSelectors:
        props.insightTypes && props.insightTypes.length > 0
          ? props.insightTypes.map((insightType) => ({ insightType }))
          : undefined,
      cloudWatchLogsLogGroupArn: cloudWatch?.logGroupArn,
      cloudWatchLogsRoleArn: cloudWatch?.roleArn,
    });

    if (cloudWatch) {
      // CloudTrail checks the role when the trail is created: the policy must exist first.
      this.trail.node.addDependency(cloudWatch.role);
      for (const arn of cloudWatch.streamArns) {
        acknowledgeWildcardResource(
          cloudWatch.role.node.findChild('DefaultPolicy'),
          arn,
          'CloudTrail creates the log streams itself, with names it chooses (<account>_CloudTrail_<region>_n, or <o-id>_... for an organization trail); the wildcard only covers that stream-name prefix in this one log group.',
        );
      }
    }
  }
}
