/**
 * The other way the issue asked to measure: feed DuckDB from the tolerant reader (the files read in Node and
 * shaped like the Glue table, rows appended through DuckDB's appender in data chunks), then run the same root-use
 * aggregation on the table. Prints `{ms, events}`. The engine does not work this way; docs/queries.md says why.
 *   appender-feed.ts <tree>
 */
import { DuckDBDataChunkWriter, DuckDBInstance, JSToDuckDBValueConverter } from '@duckdb/node-api';
import { conform, duckdbType, parseHiveType } from '../../../lambda/adapters/duckdb-hive-types';
import { readLogFile } from '../../../lambda/adapters/duckdb-log-files';
import { inputRole, scanLocalPaths } from '../../../lambda/adapters/local-files';
import { CLOUDTRAIL_COLUMNS, CLOUDTRAIL_PARTITION_KEYS } from '../../../schema/cloudtrail-table';

async function main(): Promise<void> {
  const t0 = performance.now();
  const files = scanLocalPaths([process.argv[2]]).files.filter((f) => inputRole(f) === 'events');
  const columns = [...CLOUDTRAIL_COLUMNS, ...CLOUDTRAIL_PARTITION_KEYS].map((c) => ({
    name: c.name,
    type: parseHiveType(c.type),
  }));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(`CREATE TABLE t (${columns.map((c) => `"${c.name}" ${duckdbType(c.type)}`).join(', ')})`);
  const appender = await connection.createAppender('t');
  const writer = DuckDBDataChunkWriter.forAppender(appender, { converter: JSToDuckDBValueConverter });
  let events = 0;
  for (const f of files) {
    const read = readLogFile(f.path);
    if (!read.ok || !read.file.partition) continue;
    const p = read.file.partition;
    for (const record of read.file.records) {
      const byLower = new Map(Object.entries(record).map(([k, v]) => [k.toLowerCase(), v]));
      writer.appendRow(
        columns.map((c) =>
          c.name === 'account'
            ? p.account
            : c.name === 'region'
              ? p.region
              : c.name === 'dt'
                ? p.dt
                : conform(byLower.get(c.name), c.type),
        ) as never[],
      );
      events++;
    }
  }
  writer.flush();
  appender.closeSync();
  await connection.runAndReadAll(
    "SELECT account, sourceipaddress, eventname, count(*) FROM t WHERE useridentity.type = 'Root' AND useridentity.invokedby IS NULL GROUP BY ALL",
  );
  process.stdout.write(`${JSON.stringify({ ms: performance.now() - t0, events })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
