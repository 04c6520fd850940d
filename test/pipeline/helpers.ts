/**
 * Shared setup of the pipeline tests: log files from ../shared/data uploaded to s3rver under their CloudTrail keys, SQS events shaped as EventBridge delivers S3 "Object Created" events,
 * and a Lambda context.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { classifyKey } from '../../lambda/core/keys';

export const SHARED_DATA = path.resolve(__dirname, '../../../shared/data');
/** One real day (2017-06-01, us-east-1) of account 974349055189: 343 delivery files. */
export const GRYCAP_DAY = path.join(SHARED_DATA, 'grycap-cloudtrail-tracker/examples');
/** 2014 (us-east-1) and 2018 (sa-east-1) files of the same account. */
export const GRYCAP_OTHER = path.join(SHARED_DATA, 'grycap-cloudtrail-tracker/dynamodb/tmp');
export const ACCOUNT = '974349055189';
export const BUCKET = 'trailsight-archive-test';

/** The delivery files of the real day, in delivery order. */
export function grycapDayFiles(): string[] {
  return readdirSync(GRYCAP_DAY)
    .filter((f) => f.endsWith('.json.gz'))
    .sort()
    .map((f) => path.join(GRYCAP_DAY, f));
}

/** The CloudTrail key of a delivery file name: `AWSLogs/<acct>/CloudTrail/<region>/<yyyy>/<MM>/<dd>/<name>`. */
export function logKey(fileName: string, prefix = ''): string {
  const name = path.basename(fileName);
  const info = classifyKey(name);
  if (info.kind !== 'log' || info.deliveredAt === undefined) throw new Error(`${name} is not a log file name`);
  const day = new Date(info.deliveredAt).toISOString().slice(0, 10).replace(/-/g, '/');
  return `${prefix}AWSLogs/${info.account}/CloudTrail/${info.region}/${day}/${name}`;
}

export interface Uploaded {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
}

export async function upload(s3: S3Client, key: string, body: Buffer, bucket = BUCKET): Promise<Uploaded> {
  const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return { key, etag: (out.ETag ?? '').replace(/"/g, ''), size: body.length };
}

/** Uploads a file from disk under its CloudTrail key. */
export async function uploadFile(s3: S3Client, file: string, prefix = ''): Promise<Uploaded> {
  return upload(s3, logKey(file, prefix), readFileSync(file));
}

let sequence = 0;

/** An SQS record whose body is the S3 "Object Created" event EventBridge sends to the queue. */
export function objectCreatedRecord(object: Uploaded, bucket = BUCKET, time = new Date()): SQSRecord {
  sequence++;
  const body = {
    version: '0',
    id: `event-${sequence}`,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '123456789012',
    time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: {
        key: object.key,
        size: object.size,
        etag: object.etag,
        sequencer: sequence.toString(16).padStart(18, '0'),
      },
      'request-id': `req-${sequence}`,
      requester: 'cloudtrail.amazonaws.com',
      'source-ip-address': '2001:db8::1',
      reason: 'PutObject',
    },
  };
  return sqsRecord(JSON.stringify(body));
}

export function sqsRecord(body: string): SQSRecord {
  sequence++;
  return {
    messageId: `message-${sequence}`,
    receiptHandle: `handle-${sequence}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1717200000000',
      SenderId: 'AIDAEVENTBRIDGE',
      ApproximateFirstReceiveTimestamp: '1717200000000',
    },
    messageAttributes: {},
    md5OfBody: 'd41d8cd98f00b204e9800998ecf8427e',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:trailsight-log-files',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

export const lambdaContext: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'trailsight-ingest',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:trailsight-ingest',
  memoryLimitInMB: '1024',
  awsRequestId: 'request-1',
  logGroupName: '/aws/lambda/trailsight-ingest',
  logStreamName: 'stream',
  getRemainingTimeInMillis: () => 120_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

/**
 * Captures PutEvents on every EventBridgeClient: accepts every entry, except that `failFirst` entries of the
 * first call are answered with a throttling error (to exercise the retry of failed entries).
 */
export function captureEventBridge(options: { failFirst?: number; failAlways?: boolean } = {}) {
  const mock = mockClient(EventBridgeClient);
  const calls: PutEventsCommandInput[] = [];
  mock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
    calls.push(input);
    const entries = input.Entries ?? [];
    const failing = options.failAlways ? entries.length : calls.length === 1 ? (options.failFirst ?? 0) : 0;
    return {
      FailedEntryCount: Math.min(failing, entries.length),
      Entries: entries.map((_, i) =>
        i < failing
          ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }
          : { EventId: `event-${calls.length}-${i}` },
      ),
    };
  });
  return { mock, calls, client: new EventBridgeClient({ region: 'us-east-1' }) };
}

/** Details of every entry PutEvents accepted (failed entries excluded), in order. */
export function acceptedDetails(calls: PutEventsCommandInput[], failFirst = 0): unknown[] {
  return calls.flatMap((c, n) =>
    (c.Entries ?? []).slice(n === 0 ? failFirst : 0).map((e) => JSON.parse(e.Detail ?? 'null')),
  );
}
