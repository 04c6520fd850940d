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

/**
 * Counts by key, remembering the last key counted: consecutive events of a delivery mostly share their account,
 * Region, caller and address, and comparing with the last key costs less than hashing it again (each event's
 * strings are new, from its file's JSON.parse).
 */
class Tallies<T extends Tally = Tally> {
  readonly map = new Map<string, T>();
  private lastKey: string | undefined;
  private last: T | undefined;

  constructor(private readonly create: () => T) {}

  /** The tally of `key`, created at 0 when new. */
  of(key: string): T {
    if (key === this.lastKey) return this.last as T;
    let t = this.map.get(key);
    if (t === undefined) {
      t = this.create();
      this.map.set(key, t);
    }
    this.lastKey = key;
    this.last = t;
    return t;
  }

  add(key: string, n = 1): void {
    this.of(key).n += n;
  }

  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, t] of this.map) out.set(k, t.n);
    return out;
  }

  addCounts(from: ReadonlyMap<string, number>): void {
    for (const [k, n] of from) this.add(k, n);
  }
}

const counter = (): Tally => ({ n: 0 });

/** An event source's events, and the same by API name. */
interface SourceTally extends Tally {
  readonly names: Tallies;
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
  /** eventSource → eventName → events (a source's events are the sum of its names'). */
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
  private readonly accounts = new Tallies(counter);
  private readonly regions = new Tallies(counter);
  /** By source, then name: no `source name` string is built per event. */
  private readonly sources = new Tallies<SourceTally>(() => ({ n: 0, names: new Tallies(counter) }));
  private readonly errorCodes = new Tallies(counter);
  private readonly principals = new Tallies(counter);
  private readonly sourceIps = new Tallies(counter);
  private readonly skipped = new Map<string, number>();
  private readonly byKind = new Map<string, number>();
  private readonly ignored = new Map<string, number>();
  private readonly failed: FileProblem[] = [];
  private readonly noMfa = new Tallies(counter);
  private filesRead = 0;
  private signIn = { success: 0, failure: 0, withMfa: 0, withoutMfa: 0 };

  add(e: TrailEvent): void {
    this.events++;
    if (this.first === undefined || e.time < this.first) this.first = e.time;
    if (this.last === undefined || e.time > this.last) this.last = e.time;
    if (e.readOnly) this.reads++;
    else this.writes++;
    if (e.readOnlyInferred) this.inferred++;
    this.accounts.add(e.account);
    this.regions.add(e.region);
    const source = this.sources.of(e.source);
    source.n++;
    source.names.add(e.name);
    this.principals.add(e.principal);
    if (e.sourceIp !== undefined) this.sourceIps.add(e.sourceIp);
    if (e.errorCode !== undefined) {
      this.errors++;
      this.errorCodes.add(e.errorCode);
    }
    if (e.loginOutcome !== undefined) {
      if (e.loginOutcome === 'Success') this.signIn.success++;
      else this.signIn.failure++;
      if (e.mfaUsed === true) this.signIn.withMfa++;
      if (e.mfaUsed === false) {
        this.signIn.withoutMfa++;
        if (e.loginOutcome === 'Success') this.noMfa.add(e.principal);
      }
    }
  }

  /** The event counts so far (not the file counts), to hand to another builder's {@link addCounts}. */
  eventCounts(): SummaryCounts {
    const apis = new Map<string, Map<string, number>>();
    for (const [source, t] of this.sources.map) apis.set(source, t.names.counts());
    return {
      events: this.events,
      first: this.first,
      last: this.last,
      reads: this.reads,
      writes: this.writes,
      inferred: this.inferred,
      errors: this.errors,
      accounts: this.accounts.counts(),
      regions: this.regions.counts(),
      apis,
      errorCodes: this.errorCodes.counts(),
      principals: this.principals.counts(),
      sourceIps: this.sourceIps.counts(),
      noMfa: this.noMfa.counts(),
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
    this.accounts.addCounts(c.accounts);
    this.regions.addCounts(c.regions);
    for (const [source, names] of c.apis) {
      const t = this.sources.of(source);
      for (const n of names.values()) t.n += n;
      t.names.addCounts(names);
    }
    this.errorCodes.addCounts(c.errorCodes);
    this.principals.addCounts(c.principals);
    this.sourceIps.addCounts(c.sourceIps);
    this.noMfa.addCounts(c.noMfa);
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
      accounts: top(this.accounts.counts(), limit),
      regions: top(this.regions.counts(), limit),
      sources: top(this.sources.counts(), limit),
      apis: top(this.apiCounts(), limit),
      reads: this.reads,
      writes: this.writes,
      readOnlyInferred: this.inferred,
      errors: this.errors,
      errorCodes: top(this.errorCodes.counts(), limit),
      principals: top(this.principals.counts(), limit),
      sourceIps: top(this.sourceIps.counts(), limit),
      consoleSignIns: { ...this.signIn, successWithoutMfa: top(this.noMfa.counts(), limit) },
    };
  }

  /**
   * Events by `source name`. Summed by that text, so a source and a name that join to the same text (a space
   * inside either) count as one API, as they are printed.
   */
  private apiCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [source, t] of this.sources.map)
      for (const [name, n] of t.names.map) bump(out, `${source} ${name}`, n.n);
    return out;
  }
}
