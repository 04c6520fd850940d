/**
 * The inputs of a local command (`summary`, `query`, `index`, `detect`), accounted for
 * the same way everywhere:
 *
 * | what                                              | counted as      | warning | exit status |
 * |---------------------------------------------------|-----------------|---------|-------------|
 * | a file read completely (even with 0 events)       | read            | no      | 0           |
 * | a digest file                                     | ignored         | no      | 0           |
 * | a file that is not CloudTrail's (README, labels.json, AWS Config objects) | not CloudTrail | one line | 0 |
 * | a file reached twice (overlapping paths, symlinks) | duplicate, read once | no | 0           |
 * | a CloudTrail file that cannot be read fully       | unreadable      | per file | 1 (partial) |
 * | a missing path, an unreadable directory, a name that is not UTF-8, a broken or looping symlink | path problem | per path | 1 (partial) |
 *
 * An empty input (no CloudTrail file at all) is an empty result with a warning, not an error.
 * Every path and message printed goes through {@link terminalSafe}: file names come from the outside too.
 */

import type { SkippedFile } from '../lambda/adapters/duckdb-log-files';
import {
  inputRole,
  type LocalFile,
  type LocalListing,
  type PathProblem,
  type ReadOutcome,
  readOutcome,
  scanLocalPaths,
} from '../lambda/adapters/local-files';
import type { ReadReport } from '../lambda/core/reader';
import { type CliIo, EXIT } from './io';
import { terminalSafe } from './output';

/** Files not CloudTrail's named in the warning line; the rest are counted. */
const NAMED_SKIPS = 5;

export class InputReport {
  /** Files read completely or in part (those with events counted even when a problem came later). */
  filesRead = 0;
  events = 0;
  readonly problems: PathProblem[] = [];
  readonly unreadable: { readonly path: string; readonly message: string }[] = [];
  readonly notCloudTrail: string[] = [];
  digests = 0;
  duplicates = 0;
  /** `detect --state`: files an earlier run applied, listed but not read again. */
  alreadyApplied = 0;

  constructor(
    private readonly command: string,
    private readonly io: CliIo,
  ) {}

  /**
   * Lists `paths` and returns the files that hold events, in order; path problems are warned about now,
   * digests and files that are not CloudTrail's are counted. `keepDigests`: digest files are returned too
   * (`detect` applies them by name), still counted.
   */
  list(paths: readonly string[], options: { keepDigests?: boolean } = {}): LocalFile[] {
    return this.accept(scanLocalPaths(paths), options);
  }

  /** Like {@link list}, for a listing made elsewhere. */
  accept(listing: LocalListing, options: { keepDigests?: boolean } = {}): LocalFile[] {
    this.duplicates += listing.duplicates;
    for (const p of listing.problems) this.pathProblem(p);
    const files: LocalFile[] = [];
    for (const f of listing.files) {
      const role = inputRole(f);
      if (role === 'events') files.push(f);
      else if (role === 'digest') {
        this.digests++;
        if (options.keepDigests) files.push(f);
      } else this.notCloudTrail.push(f.path);
    }
    return files;
  }

  pathProblem(p: PathProblem): void {
    this.problems.push(p);
    this.warn(p.message);
  }

  /** Accounts for one file the reader went through; warns about file-level problems. */
  fileRead(file: LocalFile, report: ReadReport): ReadOutcome {
    const outcome = readOutcome(file, report);
    if (outcome === 'not-cloudtrail') {
      this.notCloudTrail.push(file.path);
      return outcome;
    }
    this.filesRead++;
    this.events += report.events;
    if (outcome === 'unreadable') {
      const message = report.errors.map((e) => e.message).join('; ');
      this.unreadable.push({ path: file.path, message });
      this.warn(message);
    }
    return outcome;
  }

  /**
   * Accounts for what the query engine read: files read, and those it found unreadable, not CloudTrail's, or
   * digests once it looked inside.
   */
  engineRead(
    filesRead: number,
    unreadable: readonly SkippedFile[],
    notCloudTrail: readonly SkippedFile[],
    digests: number,
  ): void {
    this.filesRead += filesRead;
    for (const u of unreadable) {
      this.unreadable.push({ path: u.path, message: u.reason });
      this.warn(`${u.path}: ${u.reason}`);
    }
    for (const n of notCloudTrail) this.notCloudTrail.push(n.path);
    this.digests += digests;
  }

  /** True when some input could not be read: the result is partial. */
  get partial(): boolean {
    return this.problems.length > 0 || this.unreadable.length > 0;
  }

  get exitCode(): number {
    return this.partial ? EXIT.partial : EXIT.ok;
  }

  /**
   * Prints what was skipped and why the result is partial, if it is: one line for files that are not
   * CloudTrail's, one for an empty input, and the count of inputs that could not be read.
   */
  finish(): number {
    if (this.notCloudTrail.length > 0) {
      const names = this.notCloudTrail.slice(0, NAMED_SKIPS).join(', ');
      const more =
        this.notCloudTrail.length > NAMED_SKIPS ? `, and ${this.notCloudTrail.length - NAMED_SKIPS} more` : '';
      this.warn(
        `skipped ${plural(this.notCloudTrail.length, 'file')} that ${this.notCloudTrail.length === 1 ? 'is' : 'are'} not CloudTrail logs: ${names}${more}`,
      );
    }
    if (this.filesRead === 0 && this.unreadable.length === 0 && this.alreadyApplied === 0)
      this.warn('no CloudTrail log files found');
    if (this.partial) {
      const n = this.problems.length + this.unreadable.length;
      this.io.stderr(
        `trailsight ${this.command}: partial result: ${plural(n, 'input')} could not be read (listed above); exit status 1\n`,
      );
    }
    return this.exitCode;
  }

  private warn(message: string): void {
    this.io.stderr(`${this.io.stderrIsTty ? '\r\x1b[K' : ''}warning: ${terminalSafe(message)}\n`);
  }
}

export function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}
