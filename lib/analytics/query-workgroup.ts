import { aws_athena as athena, Duration, aws_kms as kms, RemovalPolicy, aws_s3 as s3, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** Properties of a {@link QueryWorkGroup}. */
export interface QueryWorkGroupProps {
  /** Workgroup name (Athena requires one; auditors select it in the console). */
  readonly workGroupName: string;
  /** Athena cancels a query once it has scanned this many bytes. */
  readonly bytesScannedCutoffPerQuery: number;
  /** Days query results are kept. */
  readonly resultsExpirationDays: number;
}

/**
 * Defines the Athena workgroup auditors query in, and its encrypted, expiring results bucket.
 *
 * The workgroup enforces its settings (clients cannot override the result location, the encryption or the
 * scan cutoff), uses engine version 3 and publishes CloudWatch metrics.
 */
export class QueryWorkGroup extends Construct {
  /** The workgroup. */
  readonly workGroup: athena.CfnWorkGroup;
  /** The query results bucket. */
  readonly resultsBucket: s3.Bucket;
  /** The key encrypting query results. */
  readonly resultsKey: kms.Key;

  constructor(scope: Construct, id: string, props: QueryWorkGroupProps) {
    super(scope, id);
    this.resultsKey = new kms.Key(this, 'ResultsKey', {
      description: 'Trailsight: encrypts Athena query results',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.resultsBucket = new s3.Bucket(this, 'ResultsBucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.resultsKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'ExpireQueryResults',
          expiration: Duration.days(props.resultsExpirationDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      // Retained so a stack deletion never fails on a non-empty bucket; the lifecycle empties it.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.resultsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Holds transient Athena results that expire; who ran which query is recorded by CloudTrail (athena:StartQueryExecution) in the archive.',
    });

    this.workGroup = new athena.CfnWorkGroup(this, 'Resource', {
      name: props.workGroupName,
      description: 'Trailsight: forensic queries over the CloudTrail archive',
      state: 'ENABLED',
      // Deleting the stack also deletes the saved (named) queries of the workgroup.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: this.resultsBucket.s3UrlForObject('results/'),
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: this.resultsKey.keyArn },
          expectedBucketOwner: this.resultsBucket.stack.account,
        },
      },
    });
  }
}
