/**
 * Drives the deployed pipeline's orchestration (lambda/pipeline: ingest, advance, the evaluator's choice of
 * partitions) over delivery files in this process, on the in-memory state store that charges DynamoDB's
 * request units exactly as the DynamoDB adapter's items would be charged. Each file is notified 40 s after
 * its delivery time; the evaluator runs at every scheduled minute at which some partition has work (the
 * others would read and write nothing).
 *
 * What it measures per file: CPU of the ingest (read, reduce, record) and of the advances, and the bytes and
 * request units read and written in the state store.
 */
import { MemoryStateStore, type UnitCounts, type UnitKind } from '../lambda/adapters/memory-state-store';
import { type DetectConfig, type InsightEvent, resolveDetectConfig } from '../lambda/core/detect';
import { type AdvancePorts, advancePartition } from '../lambda/pipeline/advance';
import { hasWork } from '../lambda/pipeline/evaluate';
import { type IngestPorts, ingestObject } from '../lambda/pipeline/ingest';
import { ObjectReadError } from '../lambda/pipeline/ports';

export interface DrivenFile {
  readonly key: string;
  readonly body: Buffer;
  readonly deliveredAt: number;
}

export interface DriveTotals {
  files: number;
  events: number;
  insights: number;
  advances: number;
  compactions: number;
  /** CPU ms of the ingest (read + reduce + record) and of the evaluator's advances. */
  ingestCpuMs: number;
  advanceCpuMs: number;
  units: UnitCounts;
  /** Of which by the ingest. */
  ingestUnits: UnitCounts;
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const zero = (): UnitCounts => ({ writeUnits: 0, readUnits: 0, bytesWritten: 0, bytesRead: 0 });
const diff = (a: UnitCounts, b: UnitCounts): UnitCounts => ({
  writeUnits: a.writeUnits - b.writeUnits,
  readUnits: a.readUnits - b.readUnits,
  bytesWritten: a.bytesWritten - b.bytesWritten,
  bytesRead: a.bytesRead - b.bytesRead,
});
const add = (into: UnitCounts, d: UnitCounts) => {
  into.writeUnits += d.writeUnits;
  into.readUnits += d.readUnits;
  into.bytesWritten += d.bytesWritten;
  into.bytesRead += d.bytesRead;
};

export class PipelineDriver {
  readonly store = new MemoryStateStore();
  readonly config: DetectConfig;
  readonly insights: InsightEvent[] = [];
  private readonly objects = new Map<string, Buffer>();
  private wall = 0;
  private lastTick = 0;
  private readonly tickMs: number;
  private readonly ingestPorts: IngestPorts;
  private readonly advancePorts: AdvancePorts;
  totals: DriveTotals = this.empty();

  constructor(detector: Record<string, unknown> = {}) {
    this.config = resolveDetectConfig(detector);
    this.tickMs = this.config.tickMinutes * 60_000;
    const objects = this.objects;
    this.ingestPorts = {
      store: this.store,
      objects: {
        async open(ref) {
          const body = objects.get(ref.key);
          if (!body) throw new ObjectReadError('not-found', ref, 'NoSuchKey');
          objects.delete(ref.key);
          return {
            body: (async function* () {
              yield body;
            })(),
            contentLength: body.length,
          };
        },
      },
      detectConfig: this.config,
      dedupeRetentionDays: 35,
      now: () => this.wall,
    };
    const insights = this.insights;
    this.advancePorts = {
      store: this.store,
      detectConfig: this.config,
      sinks: [
        {
          publish: async (d) => {
            insights.push(...(d as InsightEvent[]));
            return { published: d.length, failed: [], requests: Math.ceil(d.length / 10) };
          },
        },
      ],
    };
  }

  private empty(): DriveTotals {
    return {
      files: 0,
      events: 0,
      insights: 0,
      advances: 0,
      compactions: 0,
      ingestCpuMs: 0,
      advanceCpuMs: 0,
      units: zero(),
      ingestUnits: zero(),
    };
  }

  private kindsAtReset = this.kindSnapshot();

  private kindSnapshot(): Record<UnitKind, UnitCounts> {
    return Object.fromEntries(Object.entries(this.store.unitsByKind).map(([k, u]) => [k, { ...u }])) as Record<
      UnitKind,
      UnitCounts
    >;
  }

  /** Starts a new measurement window (the state carries on). */
  resetTotals(): DriveTotals {
    const t = this.totals;
    this.totals = this.empty();
    this.kindsAtReset = this.kindSnapshot();
    return t;
  }

  /** The state store's units since the last reset, by what was read or written. */
  unitsByKind(): Record<UnitKind, UnitCounts> {
    const now = this.kindSnapshot();
    for (const k of Object.keys(now) as UnitKind[]) now[k] = diff(now[k], this.kindsAtReset[k]);
    return now;
  }

  /** Notifies one file (40 s after its delivery) after running the evaluations due before then. */
  async file(f: DrivenFile): Promise<void> {
    const arrival = f.deliveredAt + 40_000;
    await this.evaluateUntil(arrival);
    this.wall = arrival;
    this.objects.set(f.key, f.body);
    const u0 = { ...this.store.units };
    const c0 = process.cpuUsage();
    const outcome = await ingestObject({ bucket: 'bench', key: f.key }, this.ingestPorts);
    this.totals.ingestCpuMs += cpuMs(process.cpuUsage(c0));
    const d = diff(this.store.units, u0);
    add(this.totals.units, d);
    add(this.totals.ingestUnits, d);
    if (outcome.status !== 'processed')
      throw new Error(`${f.key}: ${outcome.status} (${outcome.reason}: ${outcome.detail})`);
    this.totals.files++;
    this.totals.events += outcome.events;
  }

  /** Runs every scheduled evaluation up to `until` at which some partition has work. */
  async evaluateUntil(until: number): Promise<void> {
    const reorderMs = this.config.reorderMinutes * 60_000;
    if (this.lastTick === 0) this.lastTick = Math.floor(until / this.tickMs) * this.tickMs;
    for (let t = this.lastTick + this.tickMs; t <= until; t += this.tickMs) {
      this.lastTick = t;
      this.wall = Math.max(this.wall, t);
      const W = t - reorderMs;
      for await (const s of this.store.scanHeads(0, 1)) {
        if (!(await hasWork(s, W, this.advancePorts))) continue;
        const u0 = { ...this.store.units };
        const c0 = process.cpuUsage();
        const r = await advancePartition(s.key, t, this.advancePorts);
        this.totals.advanceCpuMs += cpuMs(process.cpuUsage(c0));
        add(this.totals.units, diff(this.store.units, u0));
        this.totals.advances++;
        this.totals.compactions += r.compactions;
        this.totals.insights += r.insights.length;
      }
    }
  }
}
