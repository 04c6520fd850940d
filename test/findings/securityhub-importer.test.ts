import {
  BatchImportFindingsCommand,
  type BatchImportFindingsCommandInput,
  SecurityHubClient,
} from '@aws-sdk/client-securityhub';
import { mockClient } from 'aws-sdk-client-mock';
import {
  MAX_FINDING_BYTES,
  MAX_FINDINGS_PER_REQUEST,
  MAX_REQUEST_BYTES,
  packImportRequests,
  SecurityHubImporter,
} from '../../lambda/adapters/securityhub-importer';
import { type AsffFinding, asffTarget, toAsff } from '../../lambda/core/findings/asff';
import { findingFromInsight } from '../../lambda/core/findings/insight';
import { fixtureInsights, PRODUCT_ARN } from './helpers';
import { SecurityHubStandIn } from './securityhub-stand-in';

const target = asffTarget(PRODUCT_ARN);
const noSleep = async () => {};

/** `n` distinct, valid findings built from the real fixture insights. */
function findings(n: number): AsffFinding[] {
  const base = fixtureInsights().map((i) => toAsff(findingFromInsight(i), target));
  return Array.from({ length: n }, (_, k) => ({ ...base[k % base.length], Id: `finding-${k}` }));
}

describe('SecurityHubImporter (aws-sdk-client-mock)', () => {
  // mockClient patches every SecurityHubClient: restore it before the stand-in tests use a real one.
  const securityHub = mockClient(SecurityHubClient);
  beforeEach(() => securityHub.reset());
  afterAll(() => securityHub.restore());

  const sent = () =>
    securityHub
      .commandCalls(BatchImportFindingsCommand)
      .map((c) => (c.args[0].input as BatchImportFindingsCommandInput).Findings ?? []);

  test('sends at most 100 findings per request, in order', async () => {
    // Prepare
    securityHub.on(BatchImportFindingsCommand).resolves({ FailedCount: 0, SuccessCount: 0, FailedFindings: [] });
    const importer = new SecurityHubImporter(new SecurityHubClient({}));

    // Act
    const result = await importer.import(findings(230));

    // Assess
    expect(result).toEqual({ imported: 230, failed: [], requests: 3 });
    expect(sent().map((b) => b.length)).toEqual([100, 100, 30]);
    expect(
      sent()
        .flat()
        .map((f) => f.Id),
    ).toEqual(Array.from({ length: 230 }, (_, k) => `finding-${k}`));
  });

  test('retries only the findings Security Hub refused (FailedFindings), with backoff, then succeeds', async () => {
    securityHub
      .on(BatchImportFindingsCommand)
      .resolvesOnce({
        FailedCount: 1,
        SuccessCount: 2,
        FailedFindings: [{ Id: 'finding-1', ErrorCode: 'InternalException', ErrorMessage: 'try again' }],
      })
      .resolves({ FailedCount: 0, SuccessCount: 1, FailedFindings: [] });
    const delays: number[] = [];
    const importer = new SecurityHubImporter(new SecurityHubClient({}), {
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 1,
    });

    const result = await importer.import(findings(3));

    expect(result).toEqual({ imported: 3, failed: [], requests: 2 });
    expect(sent()[1].map((f) => f.Id)).toEqual(['finding-1']);
    expect(delays).toEqual([400]);
  });

  test('reports findings still refused after every attempt instead of dropping them', async () => {
    securityHub.on(BatchImportFindingsCommand).resolves({
      FailedCount: 1,
      SuccessCount: 0,
      FailedFindings: [{ Id: 'finding-0', ErrorCode: 'LimitExceeded', ErrorMessage: 'slow down' }],
    });
    const importer = new SecurityHubImporter(new SecurityHubClient({}), { maxAttempts: 3, sleep: noSleep });

    const result = await importer.import(findings(1));

    expect(result.imported).toBe(0);
    expect(result.requests).toBe(3);
    expect(result.failed).toEqual([
      { finding: findings(1)[0], errorCode: 'LimitExceeded', errorMessage: 'slow down (after 3 attempts)' },
    ]);
  });

  test('does not retry a refusal no retry can fix (InvalidInput)', async () => {
    securityHub.on(BatchImportFindingsCommand).resolves({
      FailedCount: 1,
      SuccessCount: 1,
      FailedFindings: [{ Id: 'finding-1', ErrorCode: 'InvalidInput', ErrorMessage: 'Title too long' }],
    });
    const importer = new SecurityHubImporter(new SecurityHubClient({}), { sleep: noSleep });

    const result = await importer.import(findings(2));

    expect(result.requests).toBe(1);
    expect(result.imported).toBe(1);
    expect(result.failed.map((f) => [f.finding.Id, f.errorCode])).toEqual([['finding-1', 'InvalidInput']]);
  });

  test('a request that fails as a whole counts its findings as refused for that attempt, then retries', async () => {
    securityHub
      .on(BatchImportFindingsCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves({ FailedCount: 0, SuccessCount: 2, FailedFindings: [] });
    const importer = new SecurityHubImporter(new SecurityHubClient({}), { sleep: noSleep });

    expect(await importer.import(findings(2))).toEqual({ imported: 2, failed: [], requests: 2 });
  });

  test('refuses a finding over 240 KB up front, sends the rest', async () => {
    securityHub.on(BatchImportFindingsCommand).resolves({ FailedCount: 0, SuccessCount: 1, FailedFindings: [] });
    const [small, big] = findings(2);
    const huge = { ...big, ProductFields: { 'trailsight/pad': 'x'.repeat(MAX_FINDING_BYTES) } };
    const importer = new SecurityHubImporter(new SecurityHubClient({}));

    const result = await importer.import([small, huge]);

    expect(result.imported).toBe(1);
    expect(result.failed.map((f) => f.errorCode)).toEqual(['FindingTooLarge']);
    expect(
      sent()
        .flat()
        .map((f) => f.Id),
    ).toEqual([small.Id]);
  });
});

describe('packImportRequests', () => {
  test('keeps each request under 6 MB as well as 100 findings', () => {
    const items = Array.from({ length: 60 }, (_, k) => ({ k, bytes: 200 * 1024 }));
    const requests = packImportRequests(items);
    expect(requests.map((r) => r.length)).toEqual([30, 30]);
    for (const r of requests) expect(r.reduce((s, i) => s + i.bytes, 0)).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
    expect(packImportRequests(Array.from({ length: 101 }, () => ({ bytes: 1 }))).map((r) => r.length)).toEqual([
      MAX_FINDINGS_PER_REQUEST,
      1,
    ]);
  });
});

describe('SecurityHubImporter against the Security Hub stand-in (real SDK client over HTTP)', () => {
  const standIn = new SecurityHubStandIn();
  let client: SecurityHubClient;
  beforeAll(async () => {
    client = new SecurityHubClient({
      endpoint: await standIn.start(),
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 2,
    });
  });
  afterAll(() => standIn.stop());

  test('imports every fixture finding; an End updates its Start instead of adding one', async () => {
    // Prepare: the 14 fixture events are 7 episodes (Start + End).
    const asff = fixtureInsights().map((i) => toAsff(findingFromInsight(i), target));
    const importer = new SecurityHubImporter(client, { sleep: noSleep });

    // Act: Starts first, then Ends, then every event again (a redelivery).
    const starts = asff.filter((f) => f.RecordState === 'ACTIVE');
    const ends = asff.filter((f) => f.RecordState === 'ARCHIVED');
    const results = [await importer.import(starts), await importer.import(ends), await importer.import(asff)];

    // Assess
    expect(results.map((r) => r.failed)).toEqual([[], [], []]);
    expect(standIn.findings.size).toBe(7);
    for (const stored of standIn.findings.values()) {
      expect(stored.RecordState).toBe('ARCHIVED');
      // The workflow stays as created: BatchImportFindings cannot change it afterwards.
      expect(stored.Workflow.Status).toBe('NEW');
    }
  });

  test('a refused finding is retried through the SDK and lands; a throttled request is retried by the SDK', async () => {
    const [first, second] = findings(2).map((f, k) => ({ ...f, Id: `retry-${k}` }));
    standIn.refuse('retry-0', 'InternalException', 1);
    standIn.throttle(1);
    const importer = new SecurityHubImporter(client, { sleep: noSleep });

    const result = await importer.import([first, second]);

    expect(result).toEqual({ imported: 2, failed: [], requests: 2 });
    expect(standIn.findings.has(`${PRODUCT_ARN}|retry-0`)).toBe(true);
  });

  test('a finding for another account is refused (InvalidAccess) and reported, not retried', async () => {
    const [f] = findings(1);
    const importer = new SecurityHubImporter(client, { sleep: noSleep });

    const result = await importer.import([{ ...f, Id: 'foreign', AwsAccountId: '111111111111' }]);

    expect(result.failed.map((x) => [x.finding.Id, x.errorCode])).toEqual([['foreign', 'InvalidAccess']]);
    expect(result.requests).toBe(1);
  });
});
