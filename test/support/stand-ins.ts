/**
 * Local AWS stand-ins for adapter and handler tests, started in-process on 127.0.0.1 with a free port.
 *
 * - S3: s3rver. It only accepts the access key `S3RVER`, and stores aws-chunked framing verbatim unless
 *   the SDK's checksum mode is `WHEN_REQUIRED` (toolchain.md §5), so the client below sets both.
 * - DynamoDB: dynalite, in memory. It has no TTL and no TransactWriteItems: code under test must not
 *   rely on either to be correct (TTL only ever saves storage).
 *
 * Each `start*` returns a configured SDK v3 client and a `stop()` to call in `afterAll`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';

export interface S3StandIn {
  readonly client: S3Client;
  readonly endpoint: string;
  stop(): Promise<void>;
}

export interface DynamoStandIn {
  readonly client: DynamoDBClient;
  readonly endpoint: string;
  stop(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

interface ListeningServer {
  listen(port: number, host: string, cb: (err?: Error) => void): void;
  address(): AddressInfo;
  close(cb: (err?: Error) => void): void;
}
type DynaliteFactory = (options: Record<string, unknown>) => ListeningServer;

/** Starts s3rver with the given buckets already created. */
export async function startS3(buckets: string[] = []): Promise<S3StandIn> {
  const directory = mkdtempSync(join(tmpdir(), 'trailsight-s3rver-'));
  const S3rver = require('s3rver') as S3rverConstructor;
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    client,
    endpoint,
    async stop() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Starts dynalite in memory; tables become ACTIVE immediately. */
export async function startDynamo(): Promise<DynamoStandIn> {
  const dynalite = require('dynalite') as DynaliteFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  const endpoint = `http://127.0.0.1:${server.address().port}`;
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    client,
    endpoint,
    async stop() {
      client.destroy();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
