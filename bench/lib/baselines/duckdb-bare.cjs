// DuckDB's own read_json over a delivery tree, with only the fields a question needs declared and Records
// unnested by hand: what `trailsight query` is measured against (`npm run bench`, query section).
//   node duckdb-bare.cjs <tree> count|root
// `root` answers the question of the named query root-account-use (same filters, grouped by the recipient
// account instead of the partition column, which the bare reader does not have). Prints the rows as JSON.
const { DuckDBInstance } = require('@duckdb/node-api');

const FIELDS =
  'eventTime VARCHAR, eventSource VARCHAR, eventName VARCHAR, sourceIPAddress VARCHAR, userAgent VARCHAR, errorCode VARCHAR, eventType VARCHAR, recipientAccountId VARCHAR, userIdentity STRUCT("type" VARCHAR, invokedBy VARCHAR)';

async function main() {
  const [tree, question] = process.argv.slice(2);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  const source = (fields) =>
    `(SELECT unnest(Records) AS r FROM read_json('${tree.replaceAll("'", "''")}/**/*.json.gz', format = 'unstructured', ` +
    `columns = {Records: 'STRUCT(${fields.replaceAll("'", "''")})[]'}, maximum_object_size = 1073741824))`;
  const sql =
    question === 'count'
      ? `SELECT count(*) AS n FROM ${source('eventTime VARCHAR')}`
      : `SELECT r.recipientAccountId AS account, r.sourceIPAddress, r.eventSource, r.eventName, count(*) AS calls,
           count_if(r.errorCode IS NOT NULL) AS errors, min(r.eventTime) AS first_seen, max(r.eventTime) AS last_seen,
           array_to_string(array_sort(array_agg(DISTINCT substr(COALESCE(r.userAgent, ''), 1, 60))), ' | ') AS user_agents
         FROM ${source(FIELDS)}
         WHERE CAST(r.eventTime AS TIMESTAMPTZ) >= TIMESTAMPTZ '1970-01-01' AND CAST(r.eventTime AS TIMESTAMPTZ) < TIMESTAMPTZ '2100-01-01'
           AND r.userIdentity.type = 'Root' AND r.userIdentity.invokedBy IS NULL AND COALESCE(r.eventType, '') <> 'AwsServiceEvent'
         GROUP BY ALL ORDER BY first_seen`;
  const reader = await connection.runAndReadAll(sql);
  process.stdout.write(`${JSON.stringify(reader.getRowObjectsJson())}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exitCode = 1;
});
