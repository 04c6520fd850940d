import {
  AthenaClient,
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  type QueryExecutionState,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { AthenaQueryError, athenaCost, runAthenaQuery } from '../../lambda/adapters/athena-query-runner';

const athena = mockClient(AthenaClient);
const client = new AthenaClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });

function state(
  State: QueryExecutionState,
  extra: { StateChangeReason?: string } = {},
): Partial<GetQueryExecutionCommandOutput> {
  return {
    QueryExecution: {
      QueryExecutionId: 'q-1',
      Status: { State, ...extra },
      Statistics: { DataScannedInBytes: 52_428_800, EngineExecutionTimeInMillis: 1234 },
    },
  };
}
const col = (Name: string) => ({ Name, Type: 'varchar' });
const row = (...values: (string | undefined)[]) => ({
  Data: values.map((v) => (v === undefined ? {} : { VarCharValue: v })),
});

/** Records the waits instead of sleeping, and advances a fake clock by them. */
function fakeTime() {
  let now = 0;
  const waits: number[] = [];
  return {
    waits,
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
    clock: () => now,
  };
}

beforeEach(() => athena.reset());

describe('runAthenaQuery', () => {
  test('starts the query in the workgroup and database, polls with capped backoff, pages through the results', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(state('QUEUED'))
      .resolvesOnce(state('RUNNING'))
      .resolvesOnce(state('RUNNING'))
      .resolvesOnce(state('RUNNING'))
      .resolves(state('SUCCEEDED'));
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', MaxResults: 1000 })
      .resolves({
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: [col('eventname'), col('n')] },
          Rows: [row('eventname', 'n'), row('ListBuckets', '1')],
        },
        NextToken: 'page-2',
      })
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', MaxResults: 1000, NextToken: 'page-2' })
      .resolves({
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: [col('eventname'), col('n')] },
          Rows: [row('StopLogging', undefined)],
        },
      });
    const time = fakeTime();

    const result = await runAthenaQuery(client, 'SELECT 1', {
      workGroup: 'trailsight',
      database: 'trailsight_db',
      initialPollMs: 100,
      maxPollMs: 300,
      ...time,
    });

    expect(athena).toHaveReceivedCommandWith(StartQueryExecutionCommand, {
      QueryString: 'SELECT 1',
      WorkGroup: 'trailsight',
      QueryExecutionContext: { Database: 'trailsight_db', Catalog: 'AwsDataCatalog' },
    });
    expect(time.waits).toEqual([100, 200, 300, 300]);
    expect(result).toMatchObject({
      queryExecutionId: 'q-1',
      columns: ['eventname', 'n'],
      rows: [
        { eventname: 'ListBuckets', n: '1' },
        { eventname: 'StopLogging', n: null },
      ],
      dataScannedBytes: 52_428_800,
      billedBytes: 52_428_800,
      engineExecutionTimeMs: 1234,
      polls: 5,
    });
    expect(result.costUsd).toBeCloseTo((50 / 1024 / 1024) * 5, 10);
    expect(athena).toHaveReceivedCommandTimes(GetQueryResultsCommand, 2);
  });

  test('keeps the first row when it is not the header row, and omits the context without a database', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena.on(GetQueryExecutionCommand).resolves(state('SUCCEEDED'));
    athena
      .on(GetQueryResultsCommand)
      .resolves({ ResultSet: { ResultSetMetadata: { ColumnInfo: [col('a')] }, Rows: [row('x')] } });
    const result = await runAthenaQuery(client, 'SELECT 1', { workGroup: 'wg', ...fakeTime() });
    expect(result.rows).toEqual([{ a: 'x' }]);
    expect(athena).not.toHaveReceivedCommandWith(StartQueryExecutionCommand, {
      QueryExecutionContext: expect.anything(),
    });
  });

  test('fails with the reason when the query fails', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolves(
        state('FAILED', { StateChangeReason: "TABLE_NOT_FOUND: line 3:6: Table 'x.cloudtrail_logs' does not exist" }),
      );
    const err = await runAthenaQuery(client, 'SELECT 1', { workGroup: 'wg', ...fakeTime() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AthenaQueryError);
    expect(err).toMatchObject({
      state: 'FAILED',
      queryExecutionId: 'q-1',
      message: expect.stringMatching(/failed: TABLE_NOT_FOUND/),
    });
    expect(athena).toHaveReceivedCommandTimes(GetQueryResultsCommand, 0);
  });

  test('fails when the query is cancelled', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena.on(GetQueryExecutionCommand).resolvesOnce(state('RUNNING')).resolves(state('CANCELLED'));
    await expect(runAthenaQuery(client, 'SELECT 1', { workGroup: 'wg', ...fakeTime() })).rejects.toMatchObject({
      state: 'CANCELLED',
    });
  });

  test('stops the query and fails when it runs past the timeout', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena.on(GetQueryExecutionCommand).resolves(state('RUNNING'));
    athena.on(StopQueryExecutionCommand).resolves({});
    const time = fakeTime();
    const err = await runAthenaQuery(client, 'SELECT 1', {
      workGroup: 'wg',
      timeoutMs: 10_000,
      initialPollMs: 1000,
      maxPollMs: 4000,
      ...time,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      state: 'TIMEOUT',
      message: expect.stringMatching(/still RUNNING after 10 s; stopped it/),
    });
    expect(athena).toHaveReceivedCommandWith(StopQueryExecutionCommand, { QueryExecutionId: 'q-1' });
    expect(time.waits).toEqual([1000, 2000, 4000]);
  });

  test('fails when Athena returns no execution id', async () => {
    athena.on(StartQueryExecutionCommand).resolves({});
    await expect(runAthenaQuery(client, 'SELECT 1', { workGroup: 'wg', ...fakeTime() })).rejects.toThrow(
      /no QueryExecutionId/,
    );
  });

  test('fails when StartQueryExecution is refused', async () => {
    athena.on(StartQueryExecutionCommand).rejects(new Error('InvalidRequestException: WorkGroup nope is not found'));
    await expect(runAthenaQuery(client, 'SELECT 1', { workGroup: 'nope', ...fakeTime() })).rejects.toThrow(
      /WorkGroup nope is not found/,
    );
  });
});

describe('athenaCost', () => {
  test.each([
    [0, 10 * 1024 * 1024],
    [1, 10 * 1024 * 1024],
    [10 * 1024 * 1024 + 1, 11 * 1024 * 1024],
  ])('bills %i bytes scanned as %i (10 MB minimum, rounded up to the MB)', (scanned, billed) => {
    expect(athenaCost(scanned).billedBytes).toBe(billed);
  });

  test('prices a terabyte at $5 by default', () => {
    expect(athenaCost(1024 ** 4).costUsd).toBe(5);
    expect(athenaCost(1024 ** 4, 6.75).costUsd).toBe(6.75);
  });
});
