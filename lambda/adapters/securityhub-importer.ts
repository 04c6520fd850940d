/**
 * Imports ASFF findings into AWS Security Hub CSPM with `BatchImportFindings`, within its limits.
 *
 * Why hand-written: the SDK retries a failed *request*, but BatchImportFindings answers 200 with per-finding
 * failures (`FailedCount`, `FailedFindings[].ErrorCode`) that no library retries. This adapter
 * - packs findings into requests of at most 100 findings and 6 MB, and refuses a finding over 240 KB up front
 *   (the documented limits, "Guidelines for using the BatchImportFindings API");
 * - retries only the findings Security Hub refused, with exponential backoff and full jitter, a bounded number
 *   of times; refusals that a retry cannot fix (`InvalidInput`, `InvalidAccess`) are not retried;
 * - never drops a finding silently: what was not imported comes back in `failed` with the reason, so the caller
 *   fails the SQS message (retried, then dead-lettered) and counts it.
 */
import {
  type AwsSecurityFinding,
  BatchImportFindingsCommand,
  type SecurityHubClient,
} from '@aws-sdk/client-securityhub';
import type { AsffFinding } from '../core/findings/asff';

export const MAX_FINDINGS_PER_REQUEST = 100;
export const MAX_FINDING_BYTES = 240 * 1024;
export const MAX_REQUEST_BYTES = 6 * 1024 * 1024;
/** Refusals no retry changes: the finding or the account setup must be fixed first. */
const PERMANENT_ERRORS = new Set(['InvalidInput', 'InvalidAccess', 'AccessDeniedException']);

export interface ImportFailure {
  readonly finding: AsffFinding;
  readonly errorCode: string;
  readonly errorMessage: string;
}

export interface ImportResult {
  /** Findings Security Hub accepted. */
  readonly imported: number;
  /** Findings not accepted after every attempt, or never sendable (too large). */
  readonly failed: ImportFailure[];
  /** BatchImportFindings requests made, retries included. */
  readonly requests: number;
}

/** The port the findings handler depends on. */
export interface FindingImporter {
  import(findings: readonly AsffFinding[]): Promise<ImportResult>;
}

export interface SecurityHubImporterOptions {
  /**
   * Attempts per finding, the first included.
   * @default 4
   */
  readonly maxAttempts?: number;
  /**
   * Base of the exponential backoff between attempts, milliseconds.
   * @default 200
   */
  readonly baseDelayMs?: number;
  /** @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

interface Pending {
  readonly finding: AsffFinding;
  readonly bytes: number;
  attempts: number;
  lastError?: { code: string; message: string };
}

/** Groups findings into requests within the count and size limits, keeping order. */
export function packImportRequests<T extends { bytes: number }>(items: readonly T[]): T[][] {
  const requests: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length === MAX_FINDINGS_PER_REQUEST || (current.length > 0 && bytes + item.bytes > MAX_REQUEST_BYTES)) {
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

export class SecurityHubImporter implements FindingImporter {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly client: SecurityHubClient,
    options: SecurityHubImporterOptions = {},
  ) {
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  async import(findings: readonly AsffFinding[]): Promise<ImportResult> {
    const failed: ImportFailure[] = [];
    let pending: Pending[] = [];
    for (const finding of findings) {
      const bytes = Buffer.byteLength(JSON.stringify(finding), 'utf8');
      if (bytes > MAX_FINDING_BYTES) {
        failed.push({
          finding,
          errorCode: 'FindingTooLarge',
          errorMessage: `finding is ${bytes} bytes; BatchImportFindings accepts at most ${MAX_FINDING_BYTES}`,
        });
      } else {
        pending.push({ finding, bytes, attempts: 0 });
      }
    }

    let imported = 0;
    let requests = 0;
    const gaveUp: Pending[] = [];
    for (let attempt = 1; pending.length > 0 && attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) await this.sleep(this.backoff(attempt - 1));
      const retry: Pending[] = [];
      for (const batch of packImportRequests(pending)) {
        requests++;
        let refused: Map<string, { code: string; message: string }>;
        try {
          const response = await this.client.send(
            // AsffFinding is a structural subset of the SDK's AwsSecurityFinding (checked by the compiler here).
            new BatchImportFindingsCommand({ Findings: batch.map((p) => p.finding satisfies AwsSecurityFinding) }),
          );
          refused = new Map(
            (response.FailedFindings ?? []).map((f) => [
              f.Id ?? '',
              { code: f.ErrorCode ?? 'Unknown', message: f.ErrorMessage ?? '' },
            ]),
          );
        } catch (error) {
          // The SDK already retried the request (throttling, 5xx): count the whole batch as refused this round.
          const e = error as Error;
          refused = new Map(batch.map((p) => [p.finding.Id, { code: e.name, message: e.message }]));
        }
        for (const item of batch) {
          item.attempts++;
          const error = refused.get(item.finding.Id);
          if (!error) {
            imported++;
          } else {
            item.lastError = error;
            (PERMANENT_ERRORS.has(error.code) ? gaveUp : retry).push(item);
          }
        }
      }
      pending = retry;
    }
    for (const item of [...gaveUp, ...pending]) {
      failed.push({
        finding: item.finding,
        errorCode: item.lastError?.code ?? 'Unknown',
        errorMessage: `${item.lastError?.message ?? ''} (after ${item.attempts} attempts)`,
      });
    }
    return { imported, failed, requests };
  }

  /** Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
  private backoff(retry: number): number {
    return Math.floor(this.random() * this.baseDelayMs * 2 ** retry);
  }
}
