import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { Context, SQSRecord } from 'aws-lambda';
import { SecurityHubImporter } from '../../lambda/adapters/securityhub-importer';
import { asffTarget } from '../../lambda/core/findings/asff';
import { createFindingsHandler, readFindingsTarget } from '../../lambda/handlers/findings';
import { metrics } from '../../lambda/handlers/powertools';
import { FINDINGS_METRICS, PRODUCT_ARN_ENV } from '../../schema/findings';
import { fixtureInsight, fixtureInsights, PRODUCT_ARN } from './helpers';
import { SecurityHubStandIn } from './securityhub-stand-in';

const REPO = path.resolve(__dirname, '../..');
const context = { functionName: 'findings', awsRequestId: 'r-1' } as unknown as Context;
let sequence = 0;

/** An SQS record whose body is the bus event EventBridge delivers (the rule's target is the queue). */
function message(detail: unknown, detailType = 'Trailsight Insight'): SQSRecord {
  sequence++;
  const body = { version: '0', id: `ev-${sequence}`, 'detail-type': detailType, source: 'trailsight', detail };
  return { messageId: `m-${sequence}`, body: JSON.stringify(body) } as SQSRecord;
}

function raw(body: string): SQSRecord {
  sequence++;
  return { messageId: `m-${sequence}`, body } as SQSRecord;
}

describe('findings handler against the Security Hub stand-in', () => {
  const standIn = new SecurityHubStandIn();
  let handler: ReturnType<typeof createFindingsHandler>;
  const counted = new Map<string, number>();

  beforeAll(async () => {
    const endpoint = await standIn.start();
    const client = new SecurityHubClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    handler = createFindingsHandler(() => ({
      target: asffTarget(PRODUCT_ARN),
      importer: new SecurityHubImporter(client, { sleep: async () => {}, maxAttempts: 2 }),
    }));
    jest.spyOn(metrics, 'addMetric').mockImplementation((name, _unit, value) => {
      counted.set(name, (counted.get(name) ?? 0) + value);
      return metrics;
    });
    jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await standIn.stop();
  });
  beforeEach(() => {
    standIn.findings.clear();
    standIn.requests.length = 0;
    counted.clear();
  });

  test('a batch of Starts and Ends becomes one finding per episode, in one request', async () => {
    // Act
    const response = await handler({ Records: fixtureInsights().map((i) => message(i)) }, context);

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(standIn.requests).toHaveLength(1);
    expect(standIn.findings.size).toBe(7);
    expect([...standIn.findings.values()].every((f) => f.RecordState === 'ARCHIVED')).toBe(true);
    expect(Object.fromEntries(counted)).toEqual({
      [FINDINGS_METRICS.imported]: 7,
      [FINDINGS_METRICS.failed]: 0,
      [FINDINGS_METRICS.rejected]: 0,
    });
  });

  test('a redelivered Start after its End changes nothing (same id, older version)', async () => {
    const start = fixtureInsight('recon', 'Start');
    const end = fixtureInsight('recon', 'End');
    await handler({ Records: [message(start)] }, context);
    await handler({ Records: [message(end)] }, context);
    const response = await handler({ Records: [message(start)] }, context);

    expect(response.batchItemFailures).toEqual([]);
    expect(standIn.findings.size).toBe(1);
    const [stored] = standIn.findings.values();
    expect(stored.RecordState).toBe('ARCHIVED');
    expect(stored.Workflow.Status).toBe('NEW');
  });

  test('events that are not findings fail alone: retried, then dead-lettered, and counted', async () => {
    // Prepare
    const good = message(fixtureInsight('gap'));
    const notJson = raw('{"truncated');
    const foreign = message({ anything: 1 }, 'Trailsight Rule Match');
    const broken = message({ ...fixtureInsight('recon'), trailsight: { detector: 'recon' } });

    // Act
    const response = await handler({ Records: [good, notJson, foreign, broken] }, context);

    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      [notJson, foreign, broken].map((r) => r.messageId).sort(),
    );
    expect(standIn.findings.size).toBe(1);
    expect(counted.get(FINDINGS_METRICS.rejected)).toBe(3);
  });

  test('a finding Security Hub keeps refusing fails every message that carried it', async () => {
    // Prepare: both events of the error-rate episode map to one finding.
    const start = message(fixtureInsight('error-rate', 'Start'));
    const end = message(fixtureInsight('error-rate', 'End'));
    const other = message(fixtureInsight('iam-burst', 'Start'));
    standIn.refuse(`trailsight/insight/${fixtureInsight('error-rate').sharedEventID}`, 'LimitExceeded');

    // Act
    const response = await handler({ Records: [start, end, other] }, context);

    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      [start.messageId, end.messageId].sort(),
    );
    expect(counted.get(FINDINGS_METRICS.failed)).toBe(1);
    expect(counted.get(FINDINGS_METRICS.imported)).toBe(1);
  });
});

describe('readFindingsTarget', () => {
  test('reads the product ARN the stack sets', () => {
    expect(readFindingsTarget({ [PRODUCT_ARN_ENV]: PRODUCT_ARN }).account).toBe('999988887777');
  });

  test('fails the cold start naming the missing variable', () => {
    expect(() => readFindingsTarget({})).toThrow(`environment variable ${PRODUCT_ARN_ENV} is not set`);
  });

  test('fails the cold start on a product ARN that is not a default product', () => {
    expect(() =>
      readFindingsTarget({ [PRODUCT_ARN_ENV]: 'arn:aws:securityhub:us-east-1::product/aws/guardduty' }),
    ).toThrow(/not an account's default product/);
  });
});

describe('the deployed bundle', () => {
  test('bundles as the stack bundles it (esbuild, CJS, AWS SDK external) and loads, failing a bad message', async () => {
    // Prepare: the NodejsFunction settings of DetectionFunction, written where node_modules resolves the SDK.
    const { buildSync } = await import('esbuild');
    const dir = mkdtempSync(path.join(REPO, 'node_modules', '.cache-trailsight-bundle-'));
    const outfile = path.join(dir, 'index.js');
    buildSync({
      entryPoints: [path.join(REPO, 'lambda', 'handlers', 'findings.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['@aws-sdk/*'],
      outfile,
      logLevel: 'silent',
    });
    process.env[PRODUCT_ARN_ENV] = PRODUCT_ARN;
    try {
      // Act
      const bundled = require(outfile) as { handler: ReturnType<typeof createFindingsHandler> };
      const response = await bundled.handler({ Records: [raw('not json')] }, context);

      // Assess
      expect(response.batchItemFailures).toHaveLength(1);
    } finally {
      delete process.env[PRODUCT_ARN_ENV];
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
