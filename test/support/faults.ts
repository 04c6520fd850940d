/**
 * Fault injection for the pipeline's ports (the soak test and `npm run soak`), each fault as the code under
 * test would see it from the real service or runtime:
 *
 * - **throttle**: DynamoDB throttling that outlasted the SDK's own retries, thrown before the request reaches
 *   the table (a ProvisionedThroughputExceededException, ThrottlingException or RequestLimitExceeded of the
 *   SDK), on every method of the state store, reads and writes; a scan is cut part-way through;
 * - **crash after write**: the write lands, then the call throws (the function died, or timed out waiting for
 *   the answer), on every write method of the state store;
 * - **publish**: the invocation dies just before the publish (nothing leaves) or just after it (everything
 *   left, the outbox is not cleared: published again later), or the bus refuses some entries after its
 *   retries (they stay in the outbox, an attempt counted);
 * - **S3**: SlowDown (503) on GetObject, or the connection reset in the middle of a body.
 *
 * Whether a call fails is decided by a hash of the seed, the call's identity (method and the item it touches)
 * and how many times that same call was made before, not by a shared random stream: concurrent invocations
 * interleave differently from run to run, and each call still gets the same decision, so a seed reproduces
 * a run's faults. Besides, the first call of every store method is throttled and the second call of every
 * write method crashes after it lands (when those faults are on), so each method sees them whatever the rate:
 * a method called once a day, like waking an idle partition, would otherwise rarely see one. (Except the two
 * calls every file makes, which the rates reach anyway: forcing those too would pile five faults on the
 * first file, which would then reach the dead-letter queue.) Every injected error says `[injected]` in its
 * message (the soak tells them from real ones).
 */
import { createHash } from 'node:crypto';
import {
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { S3ServiceException } from '@aws-sdk/client-s3';
import type { PipelinePorts } from '../../lambda/handlers/environment';
import type { InsightSink, ObjectSource, PartitionStore, PublishFailure } from '../../lambda/pipeline/ports';

/** The probability of each fault, per call it can hit. */
export interface FaultRates {
  /** A state-store call (read or write, scans included) throttled beyond the SDK's retries. */
  readonly throttle: number;
  /** A state-store write that lands, after which the call throws. */
  readonly crashAfterWrite: number;
  readonly crashBeforePublish: number;
  readonly crashAfterPublish: number;
  /** A publish in which the bus refuses some entries (each entry then with probability ½). */
  readonly refuseEntries: number;
  readonly s3SlowDown: number;
  readonly s3Reset: number;
}

export const NO_FAULTS: FaultRates = {
  throttle: 0,
  crashAfterWrite: 0,
  crashBeforePublish: 0,
  crashAfterPublish: 0,
  refuseEntries: 0,
  s3SlowDown: 0,
  s3Reset: 0,
};

export type FaultKind = keyof FaultRates;

/** The marker of every injected error's message. */
export const INJECTED = '[injected]';

export function isInjected(message: string): boolean {
  return message.includes(INJECTED);
}

/** Store methods every file's ingest calls. */
const EVERY_FILE = new Set(['getHead', 'putDelta']);

const THROTTLES = [ProvisionedThroughputExceededException, ThrottlingException, RequestLimitExceeded];

export class FaultInjector {
  /** Faults injected, by kind, and by kind and method (`throttle:getHead`). */
  readonly injected: Record<string, number> = {};
  /** Calls by store method. */
  readonly calls: Record<string, number> = {};
  private readonly identities = new Map<string, number>();

  constructor(
    readonly seed: number,
    private readonly rates: FaultRates,
  ) {}

  /** Whether the `n`-th call of this identity gets this fault (and counts it); `forced` decides it. */
  private hit(kind: FaultKind, method: string, identity: string, forced = false): boolean {
    const rate = this.rates[kind];
    if (rate <= 0) return false;
    const id = `${kind}|${method}|${identity}`;
    const n = (this.identities.get(id) ?? 0) + 1;
    this.identities.set(id, n);
    if (!forced && this.draw(`${id}|${n}`) >= rate) return false;
    this.injected[kind] = (this.injected[kind] ?? 0) + 1;
    this.injected[`${kind}:${method}`] = (this.injected[`${kind}:${method}`] ?? 0) + 1;
    return true;
  }

  /** Counts a store call; its number among the calls of its method (0 for the calls of every file). */
  private call(method: string): number {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    return EVERY_FILE.has(method) ? 0 : this.calls[method];
  }

  /** A uniform draw in [0, 1) from the seed and a string. */
  private draw(what: string): number {
    return createHash('sha1').update(`${this.seed}|${what}`).digest().readUInt32BE(0) / 2 ** 32;
  }

  private throttled(method: string, identity: string): Error {
    const Kind = THROTTLES[Math.floor(this.draw(`kind|${method}|${identity}`) * THROTTLES.length)];
    return new Kind({
      message: `${INJECTED} ${method}: the request rate exceeded the table's throughput (after the SDK's retries)`,
      $metadata: { httpStatusCode: 400, attempts: 3 },
    });
  }

  private async read<T>(method: string, identity: string, call: () => Promise<T>): Promise<T> {
    const n = this.call(method);
    if (this.hit('throttle', method, identity, n === 1)) throw this.throttled(method, identity);
    return call();
  }

  private async write<T>(method: string, identity: string, call: () => Promise<T>): Promise<T> {
    const n = this.call(method);
    if (this.hit('throttle', method, identity, n === 1)) throw this.throttled(method, identity);
    const result = await call();
    if (this.hit('crashAfterWrite', method, identity, n === 2)) {
      throw new Error(`${INJECTED} ${method} landed, then the function crashed before it returned`);
    }
    return result;
  }

  /** The state store, with throttling on every call and crashes after every write. */
  store(inner: PartitionStore): PartitionStore {
    const refs = (refs: readonly { deliveredAt: number; file: string }[]) => refs.map((r) => r.file).join(',');
    const injector = this;
    return {
      getHead: (key) => this.read('getHead', key, () => inner.getHead(key)),
      createHead: (key, prefix) => this.write('createHead', key, () => inner.createHead(key, prefix)),
      putHead: (key, update, version) =>
        this.write('putHead', `${key}|${version}`, () => inner.putHead(key, update, version)),
      putOutbox: (key, outbox, version) =>
        this.write('putOutbox', `${key}|${version}`, () => inner.putOutbox(key, outbox, version)),
      wake: (key, late) => this.write('wake', `${key}|${late}`, () => inner.wake(key, late)),
      putDelta: (key, delta, expires, late) =>
        this.write('putDelta', `${key}|${delta.file}`, () => inner.putDelta(key, delta, expires, late)),
      hasDelta: (key, ref) => this.read('hasDelta', `${key}|${ref.file}`, () => inner.hasDelta(key, ref)),
      recordedLate: (key, ref) => this.read('recordedLate', `${key}|${ref.file}`, () => inner.recordedLate(key, ref)),
      queryDeltas: (key, from, to) =>
        this.read('queryDeltas', `${key}|${from}|${to}`, () => inner.queryDeltas(key, from, to)),
      hasDeltaAfter: (key, after, to) =>
        this.read('hasDeltaAfter', `${key}|${after?.file}|${to}`, () => inner.hasDeltaAfter(key, after, to)),
      getDeltas: (key, list) => this.read('getDeltas', `${key}|${refs(list)}`, () => inner.getDeltas(key, list)),
      addLate: (key, ref, expires) =>
        this.write('addLate', `${key}|${ref.file}`, () => inner.addLate(key, ref, expires)),
      queryLate: (key) => this.read('queryLate', key, () => inner.queryLate(key)),
      markLateApplied: (key, list) =>
        this.write('markLateApplied', `${key}|${refs(list)}`, () => inner.markLateApplied(key, list)),
      getPages: (key, ids) => this.read('getPages', `${key}|${ids.join(',')}`, () => inner.getPages(key, ids)),
      putPages: (key, pages) =>
        this.write('putPages', `${key}|${[...pages.keys()].join(',')}`, () => inner.putPages(key, pages)),
      countHeads: () => this.read('countHeads', '', () => inner.countHeads()),
      raiseSegmentsNeeded: (n) => this.write('raiseSegmentsNeeded', String(n), () => inner.raiseSegmentsNeeded(n)),
      async *scanHeads(segment, total) {
        // A scan reads page after page: the throttle can cut it anywhere, after some heads were seen.
        const identity = `${segment}/${total}`;
        const cut = injector.hit('throttle', 'scanHeads', identity, injector.call('scanHeads') === 1)
          ? Math.floor(injector.draw(`cut|${identity}`) * 4)
          : Number.POSITIVE_INFINITY;
        let seen = 0;
        for await (const head of inner.scanHeads(segment, total)) {
          if (seen++ >= cut) throw injector.throttled('scanHeads', identity);
          yield head;
        }
        if (Number.isFinite(cut)) throw injector.throttled('scanHeads', identity);
      },
    };
  }

  /** The insight bus, with crashes around the publish and refused entries. */
  sink(inner: InsightSink): InsightSink {
    return {
      publish: async (details) => {
        const ids = (details as { eventID: string }[]).map((d) => d.eventID).join(',');
        if (this.hit('crashBeforePublish', 'publish', ids)) {
          throw new Error(`${INJECTED} the function crashed before publishing`);
        }
        let refused: unknown[] = [];
        if (this.hit('refuseEntries', 'publish', ids)) {
          refused = details.filter((d) => this.draw(`refuse|${ids}|${(d as { eventID: string }).eventID}`) < 0.5);
        }
        const accepted = details.filter((d) => !refused.includes(d));
        const result = await inner.publish(accepted);
        if (this.hit('crashAfterPublish', 'publish', ids)) {
          throw new Error(`${INJECTED} the function crashed after publishing`);
        }
        const failed: PublishFailure[] = refused.map((detail) => ({
          detail,
          errorCode: 'ThrottlingException',
          errorMessage: `${INJECTED} Rate exceeded (after the publisher's retries)`,
        }));
        return { ...result, failed: [...result.failed, ...failed] };
      },
    };
  }

  /** The archive's objects, with SlowDown before a read and a connection reset in the middle of one. */
  objects(inner: ObjectSource): ObjectSource {
    return {
      open: async (ref) => {
        if (this.hit('s3SlowDown', 'open', ref.key)) {
          throw new S3ServiceException({
            name: 'SlowDown',
            $fault: 'server',
            $metadata: { httpStatusCode: 503 },
            message: `${INJECTED} Please reduce your request rate.`,
          });
        }
        const opened = await inner.open(ref);
        if (!this.hit('s3Reset', 'open', ref.key)) return opened;
        return {
          ...opened,
          body: (async function* () {
            for await (const chunk of opened.body) yield chunk.subarray(0, Math.floor(chunk.length / 2));
            throw Object.assign(new Error(`${INJECTED} read ECONNRESET`), { code: 'ECONNRESET' });
          })(),
        };
      },
    };
  }

  /** Every port the handlers use, with faults. */
  ports(ports: PipelinePorts): PipelinePorts {
    return {
      ...ports,
      store: this.store(ports.store),
      sinks: ports.sinks.map((s) => this.sink(s)),
      objects: this.objects(ports.objects),
    };
  }
}
