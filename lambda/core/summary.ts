/**
 * What an auditor wants first from a pile of CloudTrail files: span, accounts, regions, what was called,
 * reads vs writes, errors, who and from where, console sign-ins, and which files could not be read.
 * Exact counts (a local run holds one counter per distinct value); the per-minute series for detection
 * are in {@link TrailAggregate}.
 */
import type { TrailEvent } from './event';
import type { KeyKind } from './keys';
import type { ReadReport } from './reader';

export interface FileProblem {
  readonly file: string;
  readonly kind: string;
  readonly offset: number;
  readonly message: string;
}

export interface SummaryJson {
  readonly files: {
    readonly read: number;
    readonly byKind: Record<string, number>;
    /** Files not read on purpose: digests, foreign objects, non-JSON files. */
    readonly ignored: Record<string, number>;
    /** Files with a file-level error (events before the error still count). */
    readonly failed: FileProblem[];
  };
  readonly events: number;
  readonly records: number;
  readonly skippedRecords: Record<string, number>;
  readonly timeSpan: { readonly first: string; readonly last: string } | null;
  readonly accounts: Array<[string, number]>;
  readonly regions: Array<[string, number]>;
  readonly sources: Array<[string, number]>;
  readonly apis: Array<[string, number]>;
  readonly reads: number;
  readonly writes: number;
  /** Of reads+writes, how many had readOnly inferred from the API name. */
  readonly readOnlyInferred: number;
  readonly errors: number;
  readonly errorCodes: Array<[string, number]>;
  readonly principals: Array<[string, number]>;
  readonly sourceIps: Array<[string, number]>;
  readonly consoleSignIns: {
    readonly success: number;
    readonly failure: number;
    readonly withMfa: number;
    readonly withoutMfa: number;
    /** Successful sign-ins without MFA, by principal. */
    readonly successWithoutMfa: Array<[string, number]>;
  };
}

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

function top(map: Map<string, number>, n: number): Array<[string, number]> {
  return [...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
}

export class SummaryBuilder {
  private events = 0;
  private records = 0;
  private first: number | undefined;
  private last: number | undefined;
  private reads = 0;
  private writes = 0;
  private inferred = 0;
  private errors = 0;
  private readonly accounts = new Map<string, number>();
  private readonly regions = new Map<string, number>();
  private readonly sources = new Map<string, number>();
  private readonly apis = new Map<string, number>();
  private readonly errorCodes = new Map<string, number>();
  private readonly principals = new Map<string, number>();
  private readonly sourceIps = new Map<string, number>();
  private readonly skipped = new Map<string, number>();
  private readonly byKind = new Map<string, number>();
  private readonly ignored = new Map<string, number>();
  private readonly failed: FileProblem[] = [];
  private readonly noMfa = new Map<string, number>();
  private filesRead = 0;
  private signIn = { success: 0, failure: 0, withMfa: 0, withoutMfa: 0 };

  add(e: TrailEvent): void {
    this.events++;
    if (this.first === undefined || e.time < this.first) this.first = e.time;
    if (this.last === undefined || e.time > this.last) this.last = e.time;
    if (e.readOnly) this.reads++;
    else this.writes++;
    if (e.readOnlyInferred) this.inferred++;
    bump(this.accounts, e.account);
    bump(this.regions, e.region);
    bump(this.sources, e.source);
    bump(this.apis, `${e.source} ${e.name}`);
    bump(this.principals, e.principal);
    if (e.sourceIp !== undefined) bump(this.sourceIps, e.sourceIp);
    if (e.errorCode !== undefined) {
      this.errors++;
      bump(this.errorCodes, e.errorCode);
    }
    if (e.loginOutcome !== undefined) {
      if (e.loginOutcome === 'Success') this.signIn.success++;
      else this.signIn.failure++;
      if (e.mfaUsed === true) this.signIn.withMfa++;
      if (e.mfaUsed === false) {
        this.signIn.withoutMfa++;
        if (e.loginOutcome === 'Success') bump(this.noMfa, e.principal);
      }
    }
  }

  /** Counts a file that was read (its report) under its key kind. */
  addReport(kind: KeyKind | 'file', report: ReadReport): void {
    this.filesRead++;
    bump(this.byKind, kind);
    this.records += report.records;
    for (const [reason, n] of Object.entries(report.skipped)) bump(this.skipped, reason, n ?? 0);
    for (const e of report.errors) {
      this.failed.push({ file: e.file, kind: e.kind, offset: e.offset, message: e.message });
    }
  }

  /** Counts a file that was deliberately not read (digest, foreign object, README…). */
  addIgnored(reason: string): void {
    bump(this.ignored, reason);
  }

  toJSON(limit = 10): SummaryJson {
    return {
      files: {
        read: this.filesRead,
        byKind: Object.fromEntries(top(this.byKind, 100)),
        ignored: Object.fromEntries(top(this.ignored, 100)),
        failed: this.failed,
      },
      events: this.events,
      records: this.records,
      skippedRecords: Object.fromEntries(top(this.skipped, 100)),
      timeSpan:
        this.first === undefined || this.last === undefined
          ? null
          : { first: new Date(this.first).toISOString(), last: new Date(this.last).toISOString() },
      accounts: top(this.accounts, limit),
      regions: top(this.regions, limit),
      sources: top(this.sources, limit),
      apis: top(this.apis, limit),
      reads: this.reads,
      writes: this.writes,
      readOnlyInferred: this.inferred,
      errors: this.errors,
      errorCodes: top(this.errorCodes, limit),
      principals: top(this.principals, limit),
      sourceIps: top(this.sourceIps, limit),
      consoleSignIns: { ...this.signIn, successWithoutMfa: top(this.noMfa, limit) },
    };
  }
}
