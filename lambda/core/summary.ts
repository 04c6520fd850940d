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

/** A count held by reference, so counting an event costs one map look-up rather than a get and a set. */
interface Tally {
  n: number;
}

function tally(map: Map<string, Tally>, key: string): void {
  const t = map.get(key);
  if (t === undefined) map.set(key, { n: 1 });
  else t.n++;
}

function counts(map: Map<string, Tally>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, t] of map) out.set(k, t.n);
  return out;
}

function addCounts(into: Map<string, Tally>, from: ReadonlyMap<string, number>): void {
  for (const [k, n] of from) {
    const t = into.get(k);
    if (t === undefined) into.set(k, { n });
    else t.n += n;
  }
}

/**
 * The event counts of a {@link SummaryBuilder} as plain data (numbers and maps, which cross threads by structured
 * clone), so readers on other threads can count their share and this side adds the shares up
 * ({@link SummaryBuilder.addCounts}): every figure is a sum, a minimum or a maximum, so the total does not depend
 * on how the events were shared out.
 */
export interface SummaryCounts {
  readonly events: number;
  readonly first: number | undefined;
  readonly last: number | undefined;
  readonly reads: number;
  readonly writes: number;
  readonly inferred: number;
  readonly errors: number;
  readonly accounts: ReadonlyMap<string, number>;
  readonly regions: ReadonlyMap<string, number>;
  readonly sources: ReadonlyMap<string, number>;
  /** eventSource → eventName → events (joined into `source name` only when printed). */
  readonly apis: ReadonlyMap<string, ReadonlyMap<string, number>>;
  readonly errorCodes: ReadonlyMap<string, number>;
  readonly principals: ReadonlyMap<string, number>;
  readonly sourceIps: ReadonlyMap<string, number>;
  readonly noMfa: ReadonlyMap<string, number>;
  readonly signIn: {
    readonly success: number;
    readonly failure: number;
    readonly withMfa: number;
    readonly withoutMfa: number;
  };
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
  private readonly accounts = new Map<string, Tally>();
  private readonly regions = new Map<string, Tally>();
  private readonly sources = new Map<string, Tally>();
  /** By source, then name: no `source name` string is built per event. */
  private readonly apis = new Map<string, Map<string, Tally>>();
  private readonly errorCodes = new Map<string, Tally>();
  private readonly principals = new Map<string, Tally>();
  private readonly sourceIps = new Map<string, Tally>();
  private readonly skipped = new Map<string, number>();
  private readonly byKind = new Map<string, number>();
  private readonly ignored = new Map<string, number>();
  private readonly failed: FileProblem[] = [];
  private readonly noMfa = new Map<string, Tally>();
  private filesRead = 0;
  private signIn = { success: 0, failure: 0, withMfa: 0, withoutMfa: 0 };

  add(e: TrailEvent): void {
    this.events++;
    if (this.first === undefined || e.time < this.first) this.first = e.time;
    if (this.last === undefined || e.time > this.last) this.last = e.time;
    if (e.readOnly) this.reads++;
    else this.writes++;
    if (e.readOnlyInferred) this.inferred++;
    tally(this.accounts, e.account);
    tally(this.regions, e.region);
    tally(this.sources, e.source);
    let names = this.apis.get(e.source);
    if (names === undefined) {
      names = new Map();
      this.apis.set(e.source, names);
    }
    tally(names, e.name);
    tally(this.principals, e.principal);
    if (e.sourceIp !== undefined) tally(this.sourceIps, e.sourceIp);
    if (e.errorCode !== undefined) {
      this.errors++;
      tally(this.errorCodes, e.errorCode);
    }
    if (e.loginOutcome !== undefined) {
      if (e.loginOutcome === 'Success') this.signIn.success++;
      else this.signIn.failure++;
      if (e.mfaUsed === true) this.signIn.withMfa++;
      if (e.mfaUsed === false) {
        this.signIn.withoutMfa++;
        if (e.loginOutcome === 'Success') tally(this.noMfa, e.principal);
      }
    }
  }

  /** The event counts so far (not the file counts), to hand to another builder's {@link addCounts}. */
  eventCounts(): SummaryCounts {
    const apis = new Map<string, Map<string, number>>();
    for (const [source, names] of this.apis) apis.set(source, counts(names));
    return {
      events: this.events,
      first: this.first,
      last: this.last,
      reads: this.reads,
      writes: this.writes,
      inferred: this.inferred,
      errors: this.errors,
      accounts: counts(this.accounts),
      regions: counts(this.regions),
      sources: counts(this.sources),
      apis,
      errorCodes: counts(this.errorCodes),
      principals: counts(this.principals),
      sourceIps: counts(this.sourceIps),
      noMfa: counts(this.noMfa),
      signIn: { ...this.signIn },
    };
  }

  /** Adds events counted elsewhere, as if each had been passed to {@link add}. */
  addCounts(c: SummaryCounts): void {
    if (c.events === 0) return;
    this.events += c.events;
    if (c.first !== undefined && (this.first === undefined || c.first < this.first)) this.first = c.first;
    if (c.last !== undefined && (this.last === undefined || c.last > this.last)) this.last = c.last;
    this.reads += c.reads;
    this.writes += c.writes;
    this.inferred += c.inferred;
    this.errors += c.errors;
    addCounts(this.accounts, c.accounts);
    addCounts(this.regions, c.regions);
    addCounts(this.sources, c.sources);
    for (const [source, names] of c.apis) {
      let mine = this.apis.get(source);
      if (mine === undefined) {
        mine = new Map();
        this.apis.set(source, mine);
      }
      addCounts(mine, names);
    }
    addCounts(this.errorCodes, c.errorCodes);
    addCounts(this.principals, c.principals);
    addCounts(this.sourceIps, c.sourceIps);
    addCounts(this.noMfa, c.noMfa);
    this.signIn.success += c.signIn.success;
    this.signIn.failure += c.signIn.failure;
    this.signIn.withMfa += c.signIn.withMfa;
    this.signIn.withoutMfa += c.signIn.withoutMfa;
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
      accounts: top(counts(this.accounts), limit),
      regions: top(counts(this.regions), limit),
      sources: top(counts(this.sources), limit),
      apis: top(this.apiCounts(), limit),
      reads: this.reads,
      writes: this.writes,
      readOnlyInferred: this.inferred,
      errors: this.errors,
      errorCodes: top(counts(this.errorCodes), limit),
      principals: top(counts(this.principals), limit),
      sourceIps: top(counts(this.sourceIps), limit),
      consoleSignIns: { ...this.signIn, successWithoutMfa: top(counts(this.noMfa), limit) },
    };
  }

  /**
   * Events by `source name`. Summed by that text, so a source and a name that join to the same text (a space
   * inside either) count as one API, as they are printed.
   */
  private apiCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [source, names] of this.apis) for (const [name, t] of names) bump(out, `${source} ${name}`, t.n);
    return out;
  }
}
