/**
 * The deployed detection pipeline on local stand-ins, driven by a simulated clock: log files are uploaded
 * to s3rver and notified to the real ingest handler as EventBridge delivers S3 "Object Created" events; the
 * real coordinator and evaluator handlers run on the state tables in dynalite at every scheduled time of the
 * evaluator's rate schedule. Insights are captured from the ports' sink.
 *
 * Scheduled evaluations at which no partition has anything to do (no file recorded, nothing due, nothing
 * waiting) write nothing: the harness skips them (it checks what the scan would show) and runs the ones
 * that matter, so years of sparse history replay in seconds.
 */
import { createHash } from 'node:crypto';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SQSBatchResponse } from 'aws-lambda';
import { MemoryStateStore } from '../../lambda/adapters/memory-state-store';
import { type InsightEvent, resolveDetectConfig } from '../../lambda/core/detect';
import { classifyKey } from '../../lambda/core/keys';
import { createCoordinateHandler } from '../../lambda/handlers/coordinate';
import { buildPorts, type PipelineEnvironment, type PipelinePorts } from '../../lambda/handlers/environment';
import { createEvaluateHandler } from '../../lambda/handlers/evaluate';
import { createIngestHandler } from '../../lambda/handlers/ingest';
import { IDLE_AFTER_MS } from '../../lambda/pipeline/advance';
import { hasWork } from '../../lambda/pipeline/evaluate';
import { type InsightSink, ObjectReadError, type SegmentMessage } from '../../lambda/pipeline/ports';
import { lambdaContext, objectCreatedRecord, sqsEvent, sqsRecord } from '../pipeline/helpers';

export const HEADS = 'heads';
export const DATA = 'data';
const MINUTE = 60_000;

export async function createStateTables(client: DynamoDBClient, prefix = ''): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: `${prefix}${HEADS}`,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await client.send(
    new CreateTableCommand({
      TableName: `${prefix}${DATA}`,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/** A sink that keeps every insight published, in order. */
export class CapturingSink implements InsightSink {
  readonly published: InsightEvent[] = [];
  async publish(details: readonly unknown[]) {
    this.published.push(...(details as InsightEvent[]));
    return { published: details.length, failed: [], requests: 1 };
  }
}

export interface HarnessFile {
  /** The object key (`…/AWSLogs/<account>/CloudTrail/<region>/…/<name>`). */
  readonly key: string;
  readonly body: Buffer;
}

export interface HarnessOptions {
  /** Upload files to this S3 (s3rver) and read them from it. @default - files stay in memory (an ObjectSource over a map) */
  readonly s3?: S3Client;
  /** The state tables' DynamoDB (dynalite). @default - the store given by `wrap`, or an in-memory store */
  readonly dynamo?: DynamoDBClient;
  /** Changes the ports the handlers get (fault injection, another store). */
  readonly wrap?: (ports: PipelinePorts) => PipelinePorts;
  /**
   * Receives of a notification that fails before it goes to the dead-letter queue (SQS retries it a
   * visibility timeout later). @default 5
   */
  readonly maxReceiveCount?: number;
  /** Seconds before a failed notification is received again. @default 15 */
  readonly retrySeconds?: number;
  readonly bucket: string;
  readonly detector?: Record<string, unknown>;
  /** Table name prefix (several harnesses on one dynalite). */
  readonly tablePrefix?: string;
  /** Seconds between a file's delivery time and its notification reaching the ingest. @default 40 */
  readonly notifyDelaySeconds?: number;
  /** Files per SQS batch. @default 10 */
  readonly batchSize?: number;
}

export class PipelineHarness {
  /** The simulated wall clock (epoch ms): the ingest's notion of now. */
  wall = 0;
  readonly sink = new CapturingSink();
  readonly ports: PipelinePorts;
  readonly settings: PipelineEnvironment;
  readonly segments: SegmentMessage[] = [];
  evaluations = 0;
  readonly failures: unknown[] = [];
  /** The objects when no S3 is given. */
  readonly objects = new Map<string, Buffer>();
  private readonly ingest;
  private readonly coordinate;
  private readonly evaluate;
  private readonly tickMs: number;
  private readonly reorderMs: number;
  /** Delivery times of the files notified so far that the evaluator may not have applied yet. */
  private recorded: number[] = [];

  constructor(private readonly options: HarnessOptions) {
    const prefix = options.tablePrefix ?? '';
    const detectConfig = resolveDetectConfig(options.detector ?? {});
    this.tickMs = detectConfig.tickMinutes * MINUTE;
    this.reorderMs = detectConfig.reorderMinutes * MINUTE;
    this.settings = {
      headsTableName: `${prefix}${HEADS}`,
      dataTableName: `${prefix}${DATA}`,
      eventBusName: 'trailsight',
      publishToDefaultBus: false,
      archiveBucketName: options.bucket,
      insightBucketName: options.bucket,
      insightPrefix: 'trailsight/insights/',
      dedupeRetentionDays: 35,
      detectConfig,
    };
    const built = buildPorts(this.settings, {
      s3: options.s3 as S3Client,
      dynamodb: (options.dynamo ?? undefined) as DynamoDBClient,
      eventBridge: undefined as never,
      sqs: undefined as never,
    });
    const objects = this.objects;
    const ports: PipelinePorts = {
      ...built,
      ...(options.dynamo ? {} : { store: new MemoryStateStore() }),
      ...(options.s3
        ? {}
        : {
            archiveListing: {
              bucket: options.bucket,
              lister: {
                async list({ prefix, startAfter }) {
                  const keys = [...objects.keys()]
                    .filter((k) => k.startsWith(prefix) && (!startAfter || k > startAfter))
                    .sort();
                  return { objects: keys.map((key) => ({ key })) };
                },
              },
            },
            objects: {
              async open(ref) {
                const body = objects.get(ref.key);
                if (!body) throw new ObjectReadError('not-found', ref, 'NoSuchKey');
                return {
                  body: (async function* () {
                    yield body;
                  })(),
                  contentLength: body.length,
                };
              },
            },
          }),
      sinks: [this.sink],
      archive: undefined,
      now: () => this.wall,
      segments: { send: async (messages) => void this.segments.push(...messages) },
    };
    this.ports = options.wrap ? options.wrap(ports) : ports;
    this.ingest = createIngestHandler(() => this.ports);
    this.coordinate = createCoordinateHandler(() => this.ports);
    this.evaluate = createEvaluateHandler(
      () => this.ports,
      (summary) => this.failures.push(...summary.failures),
    );
  }

  /** Notifications that failed and wait for their next receive: [file, receives so far, when]. */
  private retries: { file: HarnessFile; receives: number; at: number }[] = [];
  /** Files whose notification failed `maxReceiveCount` times, with the last reason (the dead-letter queue). */
  readonly deadLettered: { key: string; reason: string }[] = [];
  /** Every file notified, by key, with the receives it took (1 = first time). */
  readonly receives = new Map<string, number>();

  /** Uploads files and notifies them (in the order given), at the current wall time. */
  async deliver(files: readonly HarnessFile[], arrivals?: readonly number[]): Promise<SQSBatchResponse[]> {
    return this.notify(files.map((file, i) => ({ file, receives: 0, at: arrivals?.[i] ?? this.wall })));
  }

  private async notify(items: { file: HarnessFile; receives: number; at: number }[]): Promise<SQSBatchResponse[]> {
    const out: SQSBatchResponse[] = [];
    const size = this.options.batchSize ?? 10;
    const files = items.map((x) => x.file);
    const arrivals = items.map((x) => x.at);
    for (let i = 0; i < files.length; i += size) {
      const records = [];
      for (const f of files.slice(i, i + size)) {
        let etag = createHash('md5').update(f.body).digest('hex');
        if (this.options.s3) {
          const put = await this.options.s3.send(
            new PutObjectCommand({ Bucket: this.options.bucket, Key: f.key, Body: f.body }),
          );
          etag = (put.ETag ?? '').replace(/"/g, '');
        } else this.objects.set(f.key, f.body);
        records.push(
          objectCreatedRecord({ key: f.key, etag, size: f.body.length }, this.options.bucket, new Date(this.wall)),
        );
      }
      // A batch is handled when its first file arrives: none of them is seen later than it arrived.
      const wall = this.wall;
      this.wall = Math.min(...arrivals.slice(i, i + size));
      const r = (await this.ingest(sqsEvent(records), lambdaContext)) as SQSBatchResponse;
      this.wall = Math.max(wall, this.wall);
      out.push(r);
      const failed = new Set(r.batchItemFailures.map((f) => f.itemIdentifier));
      records.forEach((record, j) => {
        const item = items[i + j];
        const receives = item.receives + 1;
        this.receives.set(item.file.key, receives);
        if (!failed.has(record.messageId)) return;
        if (receives >= (this.options.maxReceiveCount ?? 5)) {
          this.deadLettered.push({ key: item.file.key, reason: `failed ${receives} receives` });
        } else {
          this.retries.push({ file: item.file, receives, at: item.at + (this.options.retrySeconds ?? 15) * 1000 });
        }
      });
    }
    return out;
  }

  /** Runs one scheduled evaluation (coordinator, then every segment message through the evaluator). */
  async evaluateAt(scheduled: number): Promise<void> {
    this.wall = Math.max(this.wall, scheduled);
    this.segments.length = 0;
    await this.coordinate({ time: new Date(scheduled).toISOString() }, lambdaContext);
    const messages = [...this.segments];
    const r = (await this.evaluate(
      sqsEvent(messages.map((m) => sqsRecord(JSON.stringify(m)))),
      lambdaContext,
    )) as SQSBatchResponse;
    if (r.batchItemFailures.length > 0) this.failures.push(...r.batchItemFailures);
    this.evaluations++;
  }

  /**
   * Replays files as CloudTrail would deliver them: each file notified `notifyDelaySeconds` after its
   * delivery time (or at the time `arrival` gives), and the evaluator's schedule running every tick from the
   * first file to `until`; evaluations at which nothing can happen are skipped.
   */
  async replay(
    files: readonly HarnessFile[],
    until: number,
    arrival: (file: HarnessFile, deliveredAt: number) => number = (_f, d) =>
      d + (this.options.notifyDelaySeconds ?? 40) * 1000,
  ): Promise<void> {
    const timed = files
      .map((f) => {
        const info = classifyKey(f.key);
        if (info.deliveredAt === undefined) throw new Error(`not a log key: ${f.key}`);
        return { file: f, at: arrival(f, info.deliveredAt) };
      })
      .sort((a, b) => a.at - b.at);
    let i = 0;
    let tick = timed.length > 0 ? Math.ceil(timed[0].at / this.tickMs) * this.tickMs : until;
    while (tick <= until + this.reorderMs || this.retries.length > 0) {
      const batch: HarnessFile[] = [];
      const arrivals: number[] = [];
      while (i < timed.length && timed[i].at <= tick) {
        batch.push(timed[i].file);
        arrivals.push(timed[i].at);
        this.recorded.push(classifyKey(timed[i].file.key).deliveredAt ?? 0);
        i++;
      }
      if (batch.length > 0) {
        await this.deliver(batch, arrivals);
        this.wall = Math.max(this.wall, ...arrivals);
      }
      for (let due = this.dueRetries(tick); due.length > 0; due = this.dueRetries(tick)) await this.notify(due);
      if (await this.hasWork(tick)) await this.evaluateAt(tick);
      const nextFile = i < timed.length ? Math.ceil(timed[i].at / this.tickMs) * this.tickMs : Number.POSITIVE_INFINITY;
      const nextDue = await this.nextDueEvaluation(tick);
      const nextRetry = Math.min(...this.retries.map((r) => Math.ceil(r.at / this.tickMs) * this.tickMs));
      const next = Math.min(nextFile, nextDue, nextRetry, until + this.reorderMs + this.tickMs);
      tick = Math.max(tick + this.tickMs, next);
    }
  }

  private dueRetries(until: number): { file: HarnessFile; receives: number; at: number }[] {
    const due = this.retries.filter((r) => r.at <= until).sort((a, b) => a.at - b.at);
    this.retries = this.retries.filter((r) => r.at > until);
    return due;
  }

  /** Whether the evaluation at `scheduled` would advance some partition (what its scan decides). */
  private async hasWork(scheduled: number): Promise<boolean> {
    const W = scheduled - this.reorderMs;
    for await (const s of this.ports.store.scanHeads(0, 1)) if (await hasWork(s, W, this.ports)) return true;
    return false;
  }

  /**
   * The first scheduled time after `after` at which some partition is due, has insights or late files
   * waiting, or has a recorded file the evaluator could not apply yet (delivered within the reorder window).
   */
  private async nextDueEvaluation(after: number): Promise<number> {
    let next = Number.POSITIVE_INFINITY;
    for (const d of this.recorded)
      if (d + this.reorderMs > after - this.reorderMs) next = Math.min(next, d + this.reorderMs);
    this.recorded = this.recorded.filter((d) => d + this.reorderMs > after);
    for await (const s of this.ports.store.scanHeads(0, 1)) {
      if (s.lateHint || s.outbox) return after + this.tickMs;
      if (Number.isFinite(s.dueAt)) next = Math.min(next, s.dueAt + this.reorderMs);
      // A quiet partition is advanced once more to be marked idle (evaluate.ts, hasWork).
      if (!s.idle && s.cursor) next = Math.min(next, s.cursor.deliveredAt + IDLE_AFTER_MS + this.reorderMs + 1);
    }
    if (!Number.isFinite(next)) return next;
    return Math.max(after + this.tickMs, Math.ceil(next / this.tickMs) * this.tickMs);
  }
}
