/**
 * Insights live outside the locked archive (issue #10): the pipeline writes them to the insights bucket, the audit
 * account's Glue table reads them there, and the archive accepts no write but CloudTrail's.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Template } from 'aws-cdk-lib/assertions';
import type { InsightEvent } from '../../lambda/core/detect';
import { buildPorts, readEnvironment } from '../../lambda/handlers/environment';
import { ENV } from '../../schema/detection-contract';
import { INSIGHT_BUCKET_ENV } from '../../schema/evidence-contract';
import { type S3StandIn, startS3 } from '../support/stand-ins';
import { build, EXAMPLE_ORG_CONFIG_INPUT } from './helpers';

const INSIGHTS_BUCKET = 'trailsight-insights-222222222222-eu-west-1';

describe('the insights home (example organization configuration)', () => {
  let app: ReturnType<typeof build>;
  beforeAll(() => {
    app = build(EXAMPLE_ORG_CONFIG_INPUT);
  });

  test('the detection functions write insights to the insights bucket, named by the shared contract', () => {
    const template = Template.fromStack(app.detection!);
    const functions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Environment?.Variables?.[ENV.headsTable],
    );
    expect(functions).toHaveLength(4);
    for (const f of functions) expect(f.Properties.Environment.Variables[INSIGHT_BUCKET_ENV]).toBe(INSIGHTS_BUCKET);
    const writes = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Sid?: string; Resource: unknown }[])
      .filter((s) => s.Sid === 'WriteInsightObjects');
    expect(writes.length).toBeGreaterThan(0);
    for (const s of writes) {
      expect(JSON.stringify(s.Resource)).toContain(`:s3:::${INSIGHTS_BUCKET}/trailsight/insights/*`);
      expect(JSON.stringify(s.Resource)).not.toContain('trailsight-archive');
    }
  });

  test('the insights Glue table reads the insights bucket', () => {
    const template = Template.fromStack(app.analytics);
    const table = Object.values(template.findResources('AWS::Glue::Table')).find(
      (t) => t.Properties.TableInput.Name === 'trailsight_insights',
    );
    expect(table?.Properties.TableInput.StorageDescriptor.Location).toBe(
      `s3://${INSIGHTS_BUCKET}/trailsight/insights/`,
    );
  });

  test('the log archive stack defines the insights bucket the others name', () => {
    Template.fromStack(app.logArchive).hasResourceProperties('AWS::S3::Bucket', { BucketName: INSIGHTS_BUCKET });
  });
});

describe('the pipeline environment', () => {
  const base = {
    [ENV.headsTable]: 'heads',
    [ENV.dataTable]: 'data',
    [ENV.eventBus]: 'trailsight',
    [ENV.archiveBucket]: 'archive',
  };

  test('reads the insights bucket from its variable, and leaves it unset when the variable is absent', () => {
    expect(readEnvironment({ ...base, [INSIGHT_BUCKET_ENV]: 'insights' }).insightBucketName).toBe('insights');
    // Unset (a deployment from before the insights bucket): the archive bucket, as before.
    expect(readEnvironment(base).insightBucketName).toBe('archive');
  });

  describe('against s3rver', () => {
    let s3: S3StandIn;
    beforeAll(async () => {
      s3 = await startS3(['archive', 'insights']);
    });
    afterAll(async () => s3.stop());

    test('writes insights to the insights bucket, not to the archive', async () => {
      const settings = readEnvironment({ ...base, [INSIGHT_BUCKET_ENV]: 'insights' });
      const ports = buildPorts(settings, {
        s3: s3.client,
        dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
        eventBridge: new EventBridgeClient({ region: 'us-east-1' }),
        sqs: new SQSClient({ region: 'us-east-1' }),
      });
      const insight = {
        eventID: '3f1c1b1e-0000-5000-8000-000000000001',
        eventTime: '2024-05-01T10:00:00Z',
        awsRegion: 'eu-west-1',
        recipientAccountId: '111111111111',
      } as InsightEvent;

      await ports.archive?.write([insight]);

      const key = 'trailsight/insights/111111111111/eu-west-1/2024/05/01/3f1c1b1e-0000-5000-8000-000000000001.json';
      const body = await (
        await s3.client.send(new GetObjectCommand({ Bucket: 'insights', Key: key }))
      ).Body?.transformToString();
      expect(JSON.parse(body ?? '{}').eventID).toBe(insight.eventID);
      const archived = await s3.client.send(new ListObjectsV2Command({ Bucket: 'archive' }));
      expect(archived.KeyCount).toBe(0);
    });
  });
});
