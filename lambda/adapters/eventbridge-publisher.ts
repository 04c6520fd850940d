/**
 * Publishes Trailsight insights to an EventBridge bus, within the PutEvents limits.
 *
 * Why hand-written: the SDK retries a failed *request*, but PutEvents answers 200 with per-entry
 * failures (`FailedEntryCount`, `Entries[i].ErrorCode`) that no library retries for us. This adapter
 *  - packs entries into requests of at most 10 entries and under 256 KB (the documented entry size:
 *    Source + DetailType + Detail + Resources in UTF-8 bytes, plus 14 bytes for Time);
 *  - retries only the failed entries, with exponential backoff and full jitter, a bounded number of times;
 *  - never silently drops an insight: what could not be sent comes back in `failed`, with the reason,
 *    so the caller can fail the SQS record (and let it reach the DLQ) or count it.
 */
import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { InsightSink, PublishFailure, PublishResult } from '../pipeline/ports';

/** PutEvents accepts at most this many entries per request. */
export const MAX_ENTRIES_PER_REQUEST = 10;
/** PutEvents rejects requests whose total entry size reaches this many bytes. */
export const MAX_REQUEST_BYTES = 256 * 1024;
/** EventBridge counts `Time` as this many bytes when it is set. */
const TIME_BYTES = 14;

export interface EventBridgePublisherOptions {
  /** Name or ARN of the target event bus. */
  readonly eventBusName: string;
  /**
   * `source` of every entry. Custom sources must not start with `aws.`.
   * @default 'trailsight'
   */
  readonly source?: string;
  /** @default 'Trailsight Insight' */
  readonly detailType?: string;
  /**
   * Attempts per entry, the first included.
   * @default 4
   */
  readonly maxAttempts?: number;
  /**
   * Base of the exponential backoff between attempts, in milliseconds.
   * @default 100
   */
  readonly baseDelayMs?: number;
  /**
   * Returns the `Time` of an entry (the insight's event time), when it has one.
   * @default - no Time; EventBridge stamps the time of receipt
   */
  readonly timeOf?: (detail: unknown) => Date | undefined;
  /**
   * Resource ARNs of an entry.
   * @default - none
   */
  readonly resourcesOf?: (detail: unknown) => string[] | undefined;
  /** @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

interface Pending {
  readonly detail: unknown;
  readonly entry: PutEventsRequestEntry;
  readonly bytes: number;
  attempts: number;
  lastError?: { code: string; message: string };
}

/** Size of one entry as EventBridge counts it (docs: "Calculating PutEvents event entry size"). */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time ? TIME_BYTES : 0;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (text) size += Buffer.byteLength(text, 'utf8');
  }
  return size;
}

/** Groups entries into requests that respect both the count and the size limit, keeping order. */
export function packRequests<T extends { bytes: number }>(items: readonly T[]): T[][] {
  const requests: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length === MAX_ENTRIES_PER_REQUEST || (current.length > 0 && bytes + item.bytes >= MAX_REQUEST_BYTES)) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.bytes;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

export class EventBridgeInsightPublisher implements InsightSink {
  private readonly source: string;
  private readonly detailType: string;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly client: EventBridgeClient,
    private readonly options: EventBridgePublisherOptions,
  ) {
    this.source = options.source ?? 'trailsight';
    if (this.source.startsWith('aws.')) {
      throw new Error(`EventBridge source '${this.source}' is reserved for AWS services; use e.g. 'trailsight'.`);
    }
    this.detailType = options.detailType ?? 'Trailsight Insight';
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  async publish(details: readonly unknown[]): Promise<PublishResult> {
    const failed: PublishFailure[] = [];
    let pending: Pending[] = [];
    for (const detail of details) {
      const entry = this.toEntry(detail);
      const bytes = entrySize(entry);
      if (bytes >= MAX_REQUEST_BYTES) {
        failed.push({
          detail,
          errorCode: 'EntryTooLarge',
          errorMessage: `entry is ${bytes} bytes; PutEvents accepts less than ${MAX_REQUEST_BYTES}`,
        });
        continue;
      }
      pending.push({ detail, entry, bytes, attempts: 0 });
    }

    let published = 0;
    let requests = 0;
    for (let attempt = 1; pending.length > 0 && attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) await this.sleep(this.backoff(attempt - 1));
      const retry: Pending[] = [];
      for (const batch of packRequests(pending)) {
        requests++;
        const response = await this.client.send(new PutEventsCommand({ Entries: batch.map((p) => p.entry) }));
        const results = response.Entries ?? [];
        batch.forEach((item, i) => {
          item.attempts++;
          const result = results[i];
          // Entries line up with the request; an entry without an EventId was not accepted.
          if (result?.EventId && !result.ErrorCode) {
            published++;
          } else {
            item.lastError = {
              code: result?.ErrorCode ?? 'MissingResult',
              message: result?.ErrorMessage ?? 'PutEvents returned no result for this entry',
            };
            retry.push(item);
          }
        });
      }
      pending = retry;
    }
    for (const item of pending) {
      failed.push({
        detail: item.detail,
        errorCode: item.lastError?.code ?? 'Unknown',
        errorMessage: `${item.lastError?.message ?? ''} (after ${item.attempts} attempts)`,
      });
    }
    return { published, failed, requests };
  }

  private toEntry(detail: unknown): PutEventsRequestEntry {
    const time = this.options.timeOf?.(detail);
    const resources = this.options.resourcesOf?.(detail);
    return {
      EventBusName: this.options.eventBusName,
      Source: this.source,
      DetailType: this.detailType,
      Detail: JSON.stringify(detail),
      ...(time ? { Time: time } : {}),
      ...(resources && resources.length > 0 ? { Resources: resources } : {}),
    };
  }

  /** Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
  private backoff(retry: number): number {
    return Math.floor(this.random() * this.baseDelayMs * 2 ** retry);
  }
}
