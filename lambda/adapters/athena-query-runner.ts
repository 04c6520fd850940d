/**
 * Runs one SQL statement on Athena: StartQueryExecution, poll GetQueryExecution with capped exponential
 * backoff until a final state, page through GetQueryResults, and report bytes scanned and an estimated cost.
 *
 * Failure is explicit: FAILED and CANCELLED raise {@link AthenaQueryError} with Athena's reason; a query
 * still running at the deadline is stopped (StopQueryExecution) so it does not keep scanning, then raised.
 */
import {
  type AthenaClient,
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';

/** Athena (SQL) price per TB scanned in most Regions, in USD. */
export const DEFAULT_PRICE_PER_TB_USD = 5;
/** Athena bills at least 10 MB per query, rounded up to the next MB. */
export const MINIMUM_BILLED_BYTES = 10 * 1024 * 1024;
const MB = 1024 * 1024;
const TB = 1024 ** 4;

export interface AthenaRunOptions {
  readonly workGroup: string;
  /** Glue database the query's unqualified table names resolve in. @default - the workgroup's / Athena's default */
  readonly database?: string;
  /** @default 'AwsDataCatalog' when `database` is set */
  readonly catalog?: string;
  /** @default - the workgroup's configured result location */
  readonly outputLocation?: string;
  /** First wait between two polls. @default 500 */
  readonly initialPollMs?: number;
  /** Longest wait between two polls. @default 5000 */
  readonly maxPollMs?: number;
  /** Give up (and stop the query) after this long. @default 900000 (15 min) */
  readonly timeoutMs?: number;
  /** @default 5 */
  readonly pricePerTbUsd?: number;
  /** @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Date.now */
  readonly clock?: () => number;
}

export interface AthenaRunResult {
  readonly queryExecutionId: string;
  readonly columns: readonly string[];
  /** Athena returns every value as text; NULL stays null. */
  readonly rows: readonly Record<string, string | null>[];
  readonly dataScannedBytes: number;
  /** What Athena bills for the scan: at least 10 MB, rounded up to the MB. */
  readonly billedBytes: number;
  readonly costUsd: number;
  readonly engineExecutionTimeMs?: number;
  /** GetQueryExecution calls made while waiting. */
  readonly polls: number;
}

export class AthenaQueryError extends Error {
  override readonly name = 'AthenaQueryError';
  constructor(
    message: string,
    readonly queryExecutionId: string | undefined,
    readonly state: string,
  ) {
    super(message);
  }
}

/** Bytes billed and USD for a scan, by Athena's rule (10 MB minimum, rounded up to the MB). */
export function athenaCost(
  dataScannedBytes: number,
  pricePerTbUsd = DEFAULT_PRICE_PER_TB_USD,
): { billedBytes: number; costUsd: number } {
  const billedBytes = Math.max(MINIMUM_BILLED_BYTES, Math.ceil(dataScannedBytes / MB) * MB);
  return { billedBytes, costUsd: (billedBytes / TB) * pricePerTbUsd };
}

export async function runAthenaQuery(
  client: AthenaClient,
  sql: string,
  opts: AthenaRunOptions,
): Promise<AthenaRunResult> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const clock = opts.clock ?? Date.now;
  const initial = opts.initialPollMs ?? 500;
  const maxPoll = opts.maxPollMs ?? 5000;
  const timeoutMs = opts.timeoutMs ?? 900_000;

  const started = await client.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      WorkGroup: opts.workGroup,
      ...(opts.database
        ? { QueryExecutionContext: { Database: opts.database, Catalog: opts.catalog ?? 'AwsDataCatalog' } }
        : {}),
      ...(opts.outputLocation ? { ResultConfiguration: { OutputLocation: opts.outputLocation } } : {}),
    }),
  );
  const id = started.QueryExecutionId;
  if (!id) throw new AthenaQueryError('Athena returned no QueryExecutionId', undefined, 'UNKNOWN');

  const deadline = clock() + timeoutMs;
  let wait = initial;
  let polls = 0;
  let execution: GetQueryExecutionCommandOutput['QueryExecution'];
  for (;;) {
    const out = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    polls++;
    execution = out.QueryExecution;
    const state = execution?.Status?.State ?? 'UNKNOWN';
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED') {
      const reason =
        execution?.Status?.StateChangeReason ?? execution?.Status?.AthenaError?.ErrorMessage ?? 'no reason given';
      throw new AthenaQueryError(`Athena query ${id} ${state.toLowerCase()}: ${reason}`, id, state);
    }
    if (clock() + wait > deadline) {
      await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
      throw new AthenaQueryError(
        `Athena query ${id} still ${state} after ${Math.round(timeoutMs / 1000)} s; stopped it`,
        id,
        'TIMEOUT',
      );
    }
    await sleep(wait);
    wait = Math.min(maxPoll, wait * 2);
  }

  const columns: string[] = [];
  const rows: Record<string, string | null>[] = [];
  let token: string | undefined;
  let first = true;
  do {
    const page = await client.send(
      new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 1000, ...(token ? { NextToken: token } : {}) }),
    );
    if (first) {
      for (const c of page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []) columns.push(c.Name ?? c.Label ?? '');
    }
    const data = page.ResultSet?.Rows ?? [];
    // A SELECT's first page starts with a row holding the column names.
    const start = first && data.length > 0 && isHeader(data[0]?.Data, columns) ? 1 : 0;
    for (const row of data.slice(start)) {
      const out: Record<string, string | null> = {};
      columns.forEach((c, i) => {
        out[c] = row.Data?.[i]?.VarCharValue ?? null;
      });
      rows.push(out);
    }
    first = false;
    token = page.NextToken;
  } while (token);

  const scanned = execution?.Statistics?.DataScannedInBytes ?? 0;
  const { billedBytes, costUsd } = athenaCost(scanned, opts.pricePerTbUsd);
  return {
    queryExecutionId: id,
    columns,
    rows,
    dataScannedBytes: scanned,
    billedBytes,
    costUsd,
    ...(execution?.Statistics?.EngineExecutionTimeInMillis !== undefined
      ? { engineExecutionTimeMs: execution.Statistics.EngineExecutionTimeInMillis }
      : {}),
    polls,
  };
}

function isHeader(data: readonly { VarCharValue?: string }[] | undefined, columns: readonly string[]): boolean {
  return data !== undefined && columns.length > 0 && columns.every((c, i) => data[i]?.VarCharValue === c);
}
