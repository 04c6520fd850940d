/**
 * Retrying what lost a conditional write to another writer: exponential backoff with full jitter (AWS
 * Architecture Blog, "Exponential Backoff And Jitter"), so writers that collided do not collide again in
 * lockstep. One helper for every conditional write of the pipeline (advance, outbox, backfill merge).
 */
import { PipelineError } from './errors';

export interface RetryOptions {
  /** Attempts, the first included. @default 6 */
  readonly maxAttempts?: number;
  /** Backoff base, ms: attempt n waits up to base × 2^(n−1). @default 25 */
  readonly baseMs?: number;
  /** Longest wait, ms. @default 2000 */
  readonly capMs?: number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

/** Returned by an attempt that lost its conditional write and must be run again. */
export const CONFLICT = Symbol('conflict');

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` until it returns something other than {@link CONFLICT}; throws a `state-conflict`
 * PipelineError naming `what` after `maxAttempts`.
 */
export async function retryOnConflict<T>(
  what: string,
  attempt: (n: number) => Promise<T | typeof CONFLICT>,
  options: RetryOptions = {},
): Promise<{ value: T; attempts: number }> {
  const max = options.maxAttempts ?? 6;
  const base = options.baseMs ?? 25;
  const cap = options.capMs ?? 2000;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  for (let n = 1; n <= max; n++) {
    const value = await attempt(n);
    if (value !== CONFLICT) return { value, attempts: n };
    if (n < max) await sleep(random() * Math.min(cap, base * 2 ** (n - 1)));
  }
  throw new PipelineError('state-conflict', `${what}: another writer kept changing the state (${max} attempts)`);
}
