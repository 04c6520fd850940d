import { aws_athena as athena, type aws_glue as glue } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { type CatalogQuery, renameTable } from '../../queries/catalog';
import { CLOUDTRAIL_PARQUET_TABLE_NAME, CLOUDTRAIL_TABLE_NAME, DT_FORMATS } from '../../schema/cloudtrail-table';

/** CloudFormation limits of AWS::Athena::NamedQuery. */
const MAX_NAME = 128;
const MAX_DESCRIPTION = 1024;
const MAX_QUERY_STRING = 262_144;

export interface NamedQueriesProps {
  /** The Glue database holding the `cloudtrail_logs` table: its name, or the database construct. */
  readonly database: string | glue.CfnDatabase;
  /** The workgroup the queries are saved in (auditors open them there). */
  readonly workGroup: athena.CfnWorkGroup;
  /** The query library, e.g. `loadCatalog()` from `queries/catalog`. */
  readonly catalog: readonly CatalogQuery[];
  /**
   * Prefix of every query's name in the Athena console.
   * @default 'trailsight-'
   */
  readonly namePrefix?: string;
  /**
   * Save the queries of `cloudtrail_logs` for its compacted Parquet copy instead (`cloudtrail_parquet`, see
   * `CloudTrailCompaction`); queries of other tables are left out.
   * @default false
   */
  readonly compacted?: boolean;
}

/**
 * Deploys every query of the forensic library as an Athena named query in the workgroup.
 *
 * The saved text is the library file itself, placeholders included (`'{{start}}'`, `'{{dt_from}}'`, ...):
 * a default time range frozen at synth time would silently go stale; Athena's execution parameters (`?`)
 * are positional, so the repeated start/end and the derived dt bounds would have to be typed in order at
 * every run; and an unfilled placeholder cannot scan the archive by accident (no projected `dt` matches
 * `'{{dt_from}}'`, and `from_iso8601_timestamp('{{start}}')` is a runtime error). A
 * first comment line tells the auditor to replace the literals or to run it with
 * `trailsight query <name> --athena`, which fills them (start/end default to the last 7 days).
 */
export class NamedQueries extends Construct {
  /** The named queries, by library name (`root-account-use`). */
  readonly queries: Readonly<Record<string, athena.CfnNamedQuery>>;

  constructor(scope: Construct, id: string, props: NamedQueriesProps) {
    super(scope, id);
    if (props.catalog.length === 0) throw new Error('NamedQueries: the catalog is empty; pass loadCatalog()');
    const database = typeof props.database === 'string' ? props.database : props.database.ref;
    const prefix = props.namePrefix ?? 'trailsight-';
    const queries: Record<string, athena.CfnNamedQuery> = {};
    const compacted = props.compacted ?? false;
    for (const q of props.catalog) {
      if (compacted && q.table !== CLOUDTRAIL_TABLE_NAME) continue;
      const sql = compacted ? renameTable(q.sql, CLOUDTRAIL_TABLE_NAME, CLOUDTRAIL_PARQUET_TABLE_NAME) : q.sql;
      const queryString = `${guidance(q, compacted)}\n${sql}`;
      if (queryString.length > MAX_QUERY_STRING) {
        throw new Error(
          `NamedQueries: query '${q.name}' is ${queryString.length} characters; Athena allows ${MAX_QUERY_STRING}`,
        );
      }
      const named = new athena.CfnNamedQuery(this, q.name, {
        name: `${prefix}${q.name}`.slice(0, MAX_NAME),
        description: describe(q, compacted).slice(0, MAX_DESCRIPTION),
        database,
        workGroup: props.workGroup.ref,
        queryString,
      });
      named.addResourceDependency(props.workGroup);
      queries[q.name] = named;
    }
    this.queries = queries;
  }
}

function guidance(q: CatalogQuery, compacted: boolean): string {
  const format = compacted ? DT_FORMATS[CLOUDTRAIL_PARQUET_TABLE_NAME] : DT_FORMATS[CLOUDTRAIL_TABLE_NAME];
  return (
    `-- Trailsight named query '${q.name}'${compacted ? ' on the compacted table' : ''}. Replace each '{{...}}' ` +
    `literal (dt_from/dt_to: start/end as ${format}, one day wider) or run: npx trailsight query ${q.name} ` +
    `--athena${compacted ? ' --compacted' : ''} --workgroup <workgroup> --param key=value`
  );
}

function describe(q: CatalogQuery, compacted: boolean): string {
  const params = q.params
    .map((p) => (p.default === undefined ? `${p.name} (required)` : `${p.name}=${p.default}`))
    .join(', ');
  return `${q.title}${compacted ? ' (compacted table)' : ''}. ${q.description} Parameters: ${params}.`;
}
