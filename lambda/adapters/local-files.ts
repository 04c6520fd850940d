/**
 * Local stand-ins for the S3 object source: walk downloaded delivery trees (any depth), classify each file with
 * the same rules as S3 keys, and open files as byte streams for the core reader.
 *
 * One set of rules for every local command (`summary`, `detect`, `query`, `index`), so they agree on what they
 * read, skip and report:
 *  - {@link scanLocalPaths} never throws: a missing path, an unreadable directory, a name that is not UTF-8, a
 *    broken or looping symlink each becomes a {@link PathProblem} and the walk goes on. Symlinks to files and
 *    directories are followed (a directory already on the way down is a loop, reported and not entered); a file
 *    reached twice (overlapping paths, links, the same delivery synced into two folders) is listed once.
 *  - {@link inputRole} says, from the name alone, whether a file holds events, is a digest (ignored, expected
 *    next to logs) or is not CloudTrail's (a counted skip with a warning).
 *  - {@link extractRecords} is the one definition of the accepted document shapes.
 *  - {@link readOutcome} tells a file that turned out not to be CloudTrail from a CloudTrail file that is broken.
 */

import { isUtf8 } from 'node:buffer';
import {
  closeSync,
  createReadStream,
  type Dirent,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  type Stats,
  statSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { createGunzip, gunzipSync } from 'node:zlib';
import { classifyKey, type KeyInfo } from '../core/keys';
import type { ReadReport } from '../core/reader';

export interface LocalFile {
  /** Path as given or found (absolute paths stay absolute). */
  readonly path: string;
  /** Path relative to the root it was found under, with `/` separators (the "key"). */
  readonly key: string;
  /**
   * Bytes, when the listing learnt them without asking (a symlink's target, a file given by name); otherwise
   * {@link sizeOf} asks when a reader needs it. Not asked per file while listing: on a tree of 20,000 small
   * deliveries a `stat` each is a tenth of a second before any file is read.
   */
  readonly size?: number;
  readonly info: KeyInfo;
  /** How the file should be read. */
  readonly format: LocalFormat;
}

/**
 * `records`: a CloudTrail document (`{"Records":[…]}` or a bare array), gzipped or not.
 * `jsonl`: one event per line (`.jsonl`, `.ndjson`, optionally gzipped).
 * `other`: not something the reader understands (README, yaml, …); listed so callers can count it.
 */
export type LocalFormat = 'records' | 'jsonl' | 'other';

export function localFormat(path: string): LocalFormat {
  const p = path.toLowerCase();
  if (/\.(jsonl|ndjson)(\.gz)?$/.test(p)) return 'jsonl';
  if (/\.json(\.gz)?$/.test(p)) return 'records';
  // AWS Config's zero-byte probe and other extension-less objects in a log archive.
  return 'other';
}

/** A path that could not be listed; the walk went on without it. */
export interface PathProblem {
  /** The path, as given or found (names that are not UTF-8 show U+FFFD where the bad bytes were). */
  readonly path: string;
  readonly kind: 'missing' | 'unreadable' | 'bad-name' | 'broken-link' | 'link-loop';
  /** One line a person can act on. */
  readonly message: string;
}

export interface LocalListing {
  /** The files found, per given path in the order given, each tree sorted by key. */
  readonly files: LocalFile[];
  /** Paths that could not be listed (each one makes a run's result partial). */
  readonly problems: PathProblem[];
  /** Files reached more than once (overlapping paths, symlinks) and listed once. */
  readonly duplicates: number;
}

/**
 * Lists the files under each path (files are taken as they are), never throwing: problems are collected.
 * Synchronous on purpose: a tree of 20,000 small files lists in tens of milliseconds this way, and several
 * times slower through the thread pool's round trips.
 */
export function scanLocalPaths(paths: readonly string[]): LocalListing {
  const walker = new Walker();
  for (const p of paths) walker.root(p);
  return { files: walker.files, problems: walker.problems, duplicates: walker.duplicates };
}

/**
 * Lists the files under each path, sorted by key within each tree, and throws on the first path that cannot be
 * listed. Prefer {@link scanLocalPaths}, which reports every problem and goes on.
 */
export async function listLocalFiles(paths: readonly string[]): Promise<LocalFile[]> {
  const listing = scanLocalPaths(paths);
  if (listing.problems.length > 0) throw new Error(listing.problems[0].message);
  return listing.files;
}

class Walker {
  readonly files: LocalFile[] = [];
  readonly problems: PathProblem[] = [];
  duplicates = 0;
  /** Files listed (CloudTrail names, real paths of others), so a file reached twice is read once. */
  private readonly seenFiles = new Set<string>();

  root(given: string): void {
    let st: Stats;
    try {
      st = statSync(given);
    } catch (e) {
      this.problem(given, e);
      return;
    }
    if (st.isDirectory()) {
      const found: LocalFile[] = [];
      const absolute = resolve(given);
      // Paths are built by concatenation below: path.join/relative per file cost more than reading a small file.
      const base = join(given);
      const prefix = base === '.' ? '' : base.endsWith(sep) ? base : `${base}${sep}`;
      this.walk(absolute, '', prefix, found, new Set([realOrSelf(absolute)]));
      found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      this.files.push(...found);
    } else if (st.isFile()) {
      this.addFile(given, given.split(sep).join('/'), st.size, this.files);
    } else {
      this.problems.push({ path: given, kind: 'unreadable', message: `skipped ${given}: not a file or directory` });
    }
  }

  /**
   * `dir`: the absolute directory; `key`: its path below the root with `/` separators ('' at the root);
   * `prefix`: the given root path with a trailing separator; `ancestors`: real paths of the directories on the
   * way down, to stop at a symlink loop.
   */
  private walk(dir: string, key: string, prefix: string, found: LocalFile[], ancestors: Set<string>): void {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      this.problems.push({
        path: dir,
        kind: 'unreadable',
        message: `cannot read directory ${dir}: ${(e as Error).message}`,
      });
      return;
    }
    // A name that is not UTF-8 comes back with U+FFFD in place of its bad bytes and could not be opened by it:
    // only then are the directory's names read again as bytes, to tell it from a name that holds U+FFFD.
    let badNames: Set<string> | undefined;
    if (entries.some((e) => e.name.includes('\uFFFD'))) {
      badNames = new Set(
        readdirSync(dir, { encoding: 'buffer' })
          .filter((raw) => !isUtf8(raw))
          .map((raw) => raw.toString('utf8')),
      );
    }
    for (const entry of entries) {
      const name = entry.name;
      const abs = `${dir}${sep}${name}`;
      if (badNames?.has(name)) {
        this.problems.push({
          path: abs,
          kind: 'bad-name',
          message: `skipped ${abs}: the name is not valid UTF-8 (rename it to read it)`,
        });
        continue;
      }
      const childKey = key === '' ? name : `${key}/${name}`;
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      let size: number | undefined;
      if (entry.isSymbolicLink()) {
        let target: Stats;
        try {
          target = statSync(abs);
        } catch (e) {
          this.problems.push({
            path: abs,
            kind: 'broken-link',
            message: `skipped ${abs}: a symlink whose target cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
          });
          continue;
        }
        isDir = target.isDirectory();
        isFile = target.isFile();
        size = target.size;
      }
      if (isDir) {
        const real = realOrSelf(abs);
        if (ancestors.has(real)) {
          this.problems.push({
            path: abs,
            kind: 'link-loop',
            message: `skipped ${abs}: a symlink back to ${real}, which is already being read (a loop)`,
          });
          continue;
        }
        ancestors.add(real);
        this.walk(abs, childKey, prefix, found, ancestors);
        ancestors.delete(real);
      } else if (isFile) {
        const path = sep === '/' ? `${prefix}${childKey}` : `${prefix}${childKey.split('/').join(sep)}`;
        this.addFile(path, childKey, size, found, abs);
      }
    }
  }

  private addFile(path: string, key: string, size: number | undefined, into: LocalFile[], abs = path): void {
    const info = classifyKey(key);
    // A CloudTrail file name is unique per delivery (it ends in a random string): the same name in two places
    // is the same delivery synced twice. Any other file is known by its real path.
    const id = info.kind === 'foreign' ? `path:${realOrSelf(abs)}` : `name:${basename(key)}`;
    if (this.seenFiles.has(id)) {
      this.duplicates++;
      return;
    }
    this.seenFiles.add(id);
    const format = localFormat(key);
    into.push(size === undefined ? { path, key, info, format } : { path, key, size, info, format });
  }

  private problem(path: string, e: unknown): void {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') {
      this.problems.push({ path, kind: 'missing', message: `no such file or directory: ${path}` });
    } else if (err.code === 'ELOOP') {
      this.problems.push({ path, kind: 'link-loop', message: `skipped ${path}: too many levels of symlinks` });
    } else {
      this.problems.push({ path, kind: 'unreadable', message: `cannot read ${path}: ${err.message}` });
    }
  }
}

function realOrSelf(path: string): string {
  try {
    // One system call, where the JavaScript version walks every component.
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

/** What a local command does with a listed file, decided from its name alone. */
export type InputRole =
  /** Read it: a CloudTrail log or Insights file, or a JSON file outside the `AWSLogs/` layout (an export). */
  | 'events'
  /** A digest file: expected next to logs, holds no events; counted, no warning. */
  | 'digest'
  /** Not CloudTrail's (README, AWS Config objects under `AWSLogs/`): a counted skip with a warning. */
  | 'not-cloudtrail';

export function inputRole(file: LocalFile): InputRole {
  if (file.info.kind === 'digest') return 'digest';
  if (file.format === 'other') return 'not-cloudtrail';
  if (file.info.kind === 'foreign' && /(^|\/)AWSLogs\//.test(file.key)) return 'not-cloudtrail';
  return 'events';
}

/** How reading one file ended, for the run's report and exit status. */
export type ReadOutcome = 'read' | 'unreadable' | 'not-cloudtrail';

/**
 * Tells a file that is not CloudTrail's from a CloudTrail file that is broken. A file is CloudTrail's when its
 * name says so, when records were found in it, or when it is compressed (a broken archive cannot say what it
 * held). Anything else that is not JSON, or JSON without records, is not CloudTrail's.
 */
export function readOutcome(file: LocalFile, report: ReadReport): ReadOutcome {
  if (report.complete) return 'read';
  const named = file.info.kind === 'log' || file.info.kind === 'insight';
  const shapeOnly = report.errors.every((e) => e.kind === 'not-json' || e.kind === 'no-records');
  return !named && !report.gzip && report.records === 0 && shapeOnly ? 'not-cloudtrail' : 'unreadable';
}

const sizes = new WeakMap<LocalFile, number>();

/** A listed file's size in bytes: as listed, or asked once (0 if it cannot be: reading it reports why). */
export function sizeOf(file: LocalFile): number {
  if (file.size !== undefined) return file.size;
  let size = sizes.get(file);
  if (size === undefined) {
    try {
      size = statSync(file.path).size;
    } catch {
      size = 0;
    }
    sizes.set(file, size);
  }
  return size;
}

/** Below this many files, sizes are asked in the calling thread (a thread costs more than their `stat`s). */
const BACKGROUND_SIZING_MIN_FILES = 2_000;

/**
 * The sizing thread's whole program: waits for the paths, answers a `stat` of each, -1 where it fails (the size is
 * then asked again in the calling thread), and ends.
 */
const SIZING_THREAD = `
const { statSync } = require('node:fs');
const { parentPort } = require('node:worker_threads');
parentPort.once('message', (paths) => {
  const sizes = new Float64Array(paths.length);
  for (let i = 0; i < paths.length; i++) {
    try { sizes[i] = statSync(paths[i]).size; } catch { sizes[i] = -1; }
  }
  parentPort.postMessage(sizes, [sizes.buffer]);
});
`;

/**
 * Asks files' sizes on another thread while this one goes on, for {@link sizeOf} to answer from. A `stat` each is
 * a tenth of a second on a tree of 20,000 deliveries, and `trailsight query` needs every size before DuckDB reads
 * anything: it starts the thread before listing (the thread starts up meanwhile), hands it the listed files, and
 * loads DuckDB while the thread asks. On one core there is no thread, and the sizes are asked when needed.
 */
export class BackgroundSizes {
  private thread: Worker | undefined;
  /** Set when the thread has ended (answered, failed or was stopped). */
  private ended = false;

  /** Starts the thread (unless there is one core); it waits for {@link ask} and keeps no process alive until then. */
  constructor() {
    if (availableParallelism() < 2) return;
    this.thread = new Worker(SIZING_THREAD, { eval: true });
    this.thread.on('error', () => {});
    this.thread.once('exit', () => {
      this.ended = true;
    });
    this.thread.unref();
  }

  /**
   * Has the thread ask the sizes of `files` not known yet. Resolves once {@link sizeOf} knows them (or the thread
   * failed: they are then asked when needed); never rejects. Fewer than `minFiles` unknown sizes are left to be
   * asked when needed, and the thread is stopped. Once only.
   */
  ask(files: readonly LocalFile[], minFiles = BACKGROUND_SIZING_MIN_FILES): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    // No thread, or one that already ended (it failed to start): the sizes are asked when needed.
    if (!thread || this.ended) return Promise.resolve();
    const unknown = files.filter((f) => f.size === undefined && !sizes.has(f));
    if (unknown.length === 0 || unknown.length < minFiles) {
      // No paths to ask: it answers nothing and ends (not terminated, which could stop it mid-start: see stopThread).
      thread.postMessage([]);
      return Promise.resolve();
    }
    return new Promise((done) => {
      thread.ref();
      thread.once('message', (found: Float64Array) => {
        for (let i = 0; i < unknown.length; i++) if (found[i] >= 0) sizes.set(unknown[i], found[i]);
      });
      thread.once('exit', () => done());
      thread.postMessage(unknown.map((f) => f.path));
    });
  }
}

/**
 * Files up to this size are read in one call. Delivery files are mostly tens of KB, and an fs stream's
 * per-file setup cost more than reading them (measured over a 3,896-file replay: 0.25 ms per file).
 */
const WHOLE_FILE_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Opens a file as a source of bytes for the reader: small files in one read, larger ones as a stream of
 * 1 MiB reads (fewer, larger chunks for the gunzip stream), so memory stays bounded whatever the size. The size
 * comes from the open file (no `stat` by name first). Errors (missing file, permissions) surface on the first
 * read, where the reader reports them.
 */
export async function* openLocalFile(path: string): AsyncGenerator<Uint8Array> {
  const fd = openSync(path, 'r');
  let streaming = false;
  try {
    const { size } = fstatSync(fd);
    if (size <= WHOLE_FILE_MAX_BYTES) {
      yield readOpenFile(fd, size);
      return;
    }
    streaming = true;
  } finally {
    if (!streaming) closeSync(fd);
  }
  // The stream owns the descriptor from here and closes it.
  yield* createReadStream(path, { fd, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
}

/** Reads an open file whole, as readFileSync does: `size` bytes (its size when opened), or to its end if it shrank. */
export function readOpenFile(fd: number, size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  let read = 0;
  for (let n = 1; read < size && n > 0; read += n) n = readSync(fd, bytes, read, size - read, read);
  return read < size ? bytes.subarray(0, read) : bytes;
}

/** Exports up to this size that are not CloudTrail deliveries are read whole, so their shape can be recognised. */
const SHAPE_SNIFF_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Opens a listed file as a CloudTrail document for the reader: delivery files as they are, JSON Lines
 * (gunzipped first when named `.gz`) wrapped by {@link jsonLinesAsRecords}, and the other accepted shapes of a
 * file that is not a delivery (see {@link extractRecords}) rewritten as a `{"Records":[…]}` document.
 */
export function openLocalRecords(file: LocalFile): AsyncIterable<Uint8Array> {
  if (file.format === 'jsonl') {
    const bytes = openLocalFile(file.path);
    return jsonLinesAsRecords(file.path.endsWith('.gz') ? Readable.from(bytes).pipe(createGunzip()) : bytes);
  }
  if (file.info.kind === 'foreign' && sizeOf(file) <= SHAPE_SNIFF_MAX_BYTES) return openExport(file);
  return openLocalFile(file.path);
}

/** A JSON file that is not a delivery: passed through when it is a Records document or an array, else rewritten. */
async function* openExport(file: LocalFile): AsyncGenerator<Uint8Array> {
  const raw = readFileSync(file.path);
  let text: Buffer = raw;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      text = gunzipSync(raw, { maxOutputLength: SHAPE_SNIFF_MAX_BYTES * 4 });
    } catch {
      yield raw; // the reader reports the gzip error precisely
      return;
    }
  }
  const start = firstSignificantByte(text);
  // `{"Records"…` and `[…` are what the reader streams already; anything else may be another accepted shape.
  if (start < 0 || text[start] === 0x5b || text.subarray(start, start + 10).toString() === '{"Records"') {
    yield raw;
    return;
  }
  let records: unknown[];
  try {
    records = extractRecords(text.toString('utf8'));
  } catch {
    yield raw; // not an accepted shape: the reader says precisely what is wrong
    return;
  }
  yield Buffer.from(`{"Records":${JSON.stringify(records)}}`);
}

function firstSignificantByte(b: Buffer): number {
  let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  return i < b.length ? i : -1;
}

/** Raised by {@link extractRecords} when a document is JSON but not an accepted shape. */
class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

/**
 * The accepted document shapes, one definition for every local command:
 *  - a delivery file `{"Records":[...]}`;
 *  - a JSON array of records (Stratus Red Team detonation logs, `jq .Records`);
 *  - a single record object (AWS documentation examples);
 *  - JSON Lines, one record per line (e.g. `trailsight detect --format jsonl` insights);
 *  - `aws cloudtrail lookup-events` output (`{"Events":[{"CloudTrailEvent":"<json>"}]}`).
 * Returns the records (not checked further); throws for a digest file or JSON of another
 * shape, and an Error saying why for text that is neither JSON nor JSON Lines.
 */
export function extractRecords(text: string): unknown[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // Not one JSON document: maybe JSON Lines.
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length > 1) {
      try {
        return lines.flatMap((l) => fromDocument(JSON.parse(l)));
      } catch (lineErr) {
        if (lineErr instanceof ShapeError) throw lineErr;
        throw new Error(`not JSON or JSON Lines: ${(lineErr as Error).message}`);
      }
    }
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
  return fromDocument(doc);
}

function fromDocument(doc: unknown): unknown[] {
  if (Array.isArray(doc)) return doc;
  if (typeof doc !== 'object' || doc === null) throw new ShapeError('not a CloudTrail file (JSON scalar)');
  const o = doc as Record<string, unknown>;
  if (Array.isArray(o.Records)) return o.Records;
  if ('digestStartTime' in o || 'logFiles' in o) throw new ShapeError('digest file (holds no events)');
  if (Array.isArray(o.Events)) {
    return o.Events.map((e) => {
      const s = (e as { CloudTrailEvent?: unknown }).CloudTrailEvent;
      return typeof s === 'string' ? JSON.parse(s) : e;
    });
  }
  if ('eventTime' in o) return [o];
  throw new ShapeError('not a CloudTrail file (no Records, not a record)');
}

/**
 * Presents JSON Lines (one event per line) as a CloudTrail document, so the same reader, issues and
 * counts apply: each non-empty line becomes one element of `Records`. `map` may rewrite or drop a line
 * (return undefined), e.g. to unwrap an exporter's envelope. Decompress first if the lines are gzipped.
 */
export async function* jsonLinesAsRecords(
  source: AsyncIterable<Uint8Array | string> | NodeJS.ReadableStream,
  map?: (line: string) => string | undefined,
): AsyncGenerator<Buffer> {
  yield Buffer.from('{"Records":[');
  let rest = '';
  let first = true;
  const emit = (line: string): Buffer | undefined => {
    const trimmed = line.trim();
    if (trimmed.length === 0) return undefined;
    const mapped = map ? map(trimmed) : trimmed;
    if (mapped === undefined) return undefined;
    const out = Buffer.from(first ? mapped : `,${mapped}`);
    first = false;
    return out;
  };
  const decoder = new TextDecoder();
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    const parts: Buffer[] = [];
    for (const line of lines) {
      const b = emit(line);
      if (b) parts.push(b);
    }
    if (parts.length > 0) yield Buffer.concat(parts);
  }
  const last = emit(rest + decoder.decode());
  if (last) yield last;
  yield Buffer.from(']}');
}
