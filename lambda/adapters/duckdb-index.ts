/**
 * The local index (`trailsight index`): the events of a delivery tree written once as Parquet, laid out like the
 * compacted table Athena's scheduled compaction writes (`schema/cloudtrail-table.ts`,
 * `cloudtrail/account=<id>/region=<region>/dt=<yyyy-MM-dd>/part-<uuid>.parquet`), so repeated questions read a few
 * columns of a few files instead of parsing every JSON file again.
 *
 * Incremental: the manifest (`trailsight-index.json`) lists every input file indexed and every Parquet file
 * written, run by run. A new run indexes only inputs the manifest does not list. The manifest is replaced
 * atomically (write, then rename) after the Parquet files are written, so a run that dies halfway leaves Parquet
 * files no run lists: the next run deletes those orphans and indexes their inputs again, and queries read only
 * the files the manifest lists. Inputs are known by their CloudTrail file name (unique per delivery, wherever the
 * tree was synced to), or for other files by real path, size and modification time.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { CLOUDTRAIL_COLUMNS, CLOUDTRAIL_PARTITION_KEYS, CLOUDTRAIL_TABLE_NAME } from '../../schema/cloudtrail-table';
import type { LocalCloudTrail } from './duckdb-cloudtrail';
import type { LocalFile } from './local-files';

/** The manifest's name in the index directory. */
export const INDEX_MANIFEST = 'trailsight-index.json';
/** The folder holding the Parquet files of the CloudTrail table. */
export const INDEX_TABLE_DIR = 'cloudtrail';
const FORMAT = 'trailsight-index/1';

export interface IndexRun {
  /** When the run finished (ISO-8601). */
  readonly at: string;
  /** Identities of the input files indexed. */
  readonly inputs: readonly string[];
  /** Parquet files written, relative to the index directory with `/` separators. */
  readonly outputs: readonly string[];
  /** Events written. */
  readonly events: number;
  /** First and last eventTime written (absent when no event was written). */
  readonly first?: string;
  readonly last?: string;
}

interface Manifest {
  readonly format: typeof FORMAT;
  readonly runs: readonly IndexRun[];
}

/** Raised when the directory holds something that is not a Trailsight index. */
export class IndexError extends Error {
  override readonly name = 'IndexError';
}

export class TrailIndex {
  private constructor(
    readonly dir: string,
    private runs: IndexRun[],
  ) {}

  /** Opens the index in `dir`; `create` makes an empty one when there is none. */
  static open(dir: string, options: { create?: boolean } = {}): TrailIndex {
    const file = join(dir, INDEX_MANIFEST);
    if (!existsSync(file)) {
      if (!options.create)
        throw new IndexError(`no Trailsight index in ${dir} (run trailsight index <logs> --out ${dir})`);
      if (existsSync(dir) && readdirSync(dir).length > 0) {
        throw new IndexError(`${dir} is not empty and holds no ${INDEX_MANIFEST}: choose an empty or new directory`);
      }
      mkdirSync(dir, { recursive: true });
      return new TrailIndex(dir, []);
    }
    let manifest: unknown;
    try {
      manifest = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new IndexError(`${file} is not valid JSON (${(e as Error).message}); the index cannot be used`);
    }
    if (!isManifest(manifest)) throw new IndexError(`${file} is not a ${FORMAT} manifest; the index cannot be used`);
    return new TrailIndex(dir, [...manifest.runs]);
  }

  /** Every Parquet file of the index, absolute. */
  get files(): string[] {
    return this.runs.flatMap((r) => r.outputs.map((o) => join(this.dir, ...o.split('/'))));
  }

  get events(): number {
    return this.runs.reduce((n, r) => n + r.events, 0);
  }

  /** The first and last event time indexed. */
  get span(): { readonly first: string; readonly last: string } | undefined {
    const firsts = this.runs.flatMap((r) => (r.first ? [r.first] : [])).sort();
    const lasts = this.runs.flatMap((r) => (r.last ? [r.last] : [])).sort();
    return firsts.length > 0 ? { first: firsts[0], last: lasts[lasts.length - 1] } : undefined;
  }

  /** The input files not indexed yet. */
  pending(files: readonly LocalFile[]): LocalFile[] {
    const done = new Set(this.runs.flatMap((r) => r.inputs));
    return files.filter((f) => !done.has(identity(f)));
  }

  /**
   * Deletes Parquet files that no run lists (left by a run that died before updating the manifest) and returns
   * how many there were.
   */
  removeOrphans(): number {
    const listed = new Set(this.files);
    let removed = 0;
    const walk = (dir: string) => {
      if (!existsSync(dir)) return;
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (entry.name.endsWith('.parquet') && !listed.has(p)) {
          rmSync(p);
          removed++;
        }
      }
    };
    walk(join(this.dir, INDEX_TABLE_DIR));
    return removed;
  }

  /**
   * Writes the CloudTrail events of `engine` (opened over `inputs`) as Parquet and records the run. Insights
   * records are not indexed. Inputs the engine could not read are not recorded, so the next run tries them again.
   */
  async add(engine: LocalCloudTrail, inputs: readonly LocalFile[], at: Date): Promise<IndexRun> {
    const data = CLOUDTRAIL_COLUMNS.map((c) => `"${c.name}"`).join(', ');
    const partitions = CLOUDTRAIL_PARTITION_KEYS.map((c) => c.name);
    const select = `SELECT ${data}, account, region, replace(dt, '/', '-') AS dt FROM ${CLOUDTRAIL_TABLE_NAME}`;
    const written = await engine.copyToParquet(select, join(this.dir, INDEX_TABLE_DIR), partitions);
    let events = 0;
    let first: string | undefined;
    let last: string | undefined;
    if (written.length > 0) {
      const stats = await engine.query(
        `SELECT count(*) AS n, min(eventtime) AS first, max(eventtime) AS last FROM read_parquet([${written
          .map((f) => `'${f.replaceAll("'", "''")}'`)
          .join(', ')}])`,
      );
      const row = stats.rows[0] ?? {};
      events = Number(row.n ?? 0);
      first = typeof row.first === 'string' ? row.first : undefined;
      last = typeof row.last === 'string' ? row.last : undefined;
    }
    const failed = new Set(engine.report.unreadable.map((u) => resolve(u.path)));
    const run: IndexRun = {
      at: at.toISOString(),
      inputs: inputs.filter((f) => !failed.has(resolve(f.path))).map(identity),
      outputs: written.map((f) => relative(this.dir, f).split(sep).join('/')),
      events,
      ...(first ? { first } : {}),
      ...(last ? { last } : {}),
    };
    this.runs.push(run);
    const manifest: Manifest = { format: FORMAT, runs: this.runs };
    const file = join(this.dir, INDEX_MANIFEST);
    writeFileSync(`${file}.tmp`, `${JSON.stringify(manifest)}\n`);
    renameSync(`${file}.tmp`, file);
    return run;
  }
}

/** How an input file is known across runs: its CloudTrail name, or its real path, size and modification time. */
export function identity(f: LocalFile): string {
  if (f.info.kind === 'log' || f.info.kind === 'insight') return `name:${basename(f.path)}`;
  let real = f.path;
  let mtime = 0;
  let size = f.size ?? 0;
  try {
    real = realpathSync(f.path);
    const st = statSync(f.path);
    mtime = st.mtimeMs;
    size = st.size;
  } catch {
    // A file that vanished keeps its given path; it will fail to read and be reported.
  }
  return `path:${real}|${size}|${Math.trunc(mtime)}`;
}

function isManifest(m: unknown): m is Manifest {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as { format?: unknown; runs?: unknown };
  return (
    o.format === FORMAT &&
    Array.isArray(o.runs) &&
    o.runs.every(
      (r) =>
        typeof r === 'object' &&
        r !== null &&
        Array.isArray((r as IndexRun).inputs) &&
        Array.isArray((r as IndexRun).outputs) &&
        (r as IndexRun).inputs.every((i) => typeof i === 'string') &&
        (r as IndexRun).outputs.every((i) => typeof i === 'string' && !i.split('/').includes('..')) &&
        typeof (r as IndexRun).events === 'number',
    )
  );
}
