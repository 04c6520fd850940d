/**
 * A Glue Data Catalog stand-in for the account sync: GetTable and UpdateTable over the AWS JSON 1.1 protocol
 * (`X-Amz-Target: AWSGlue.<Operation>`), in memory, on 127.0.0.1, so the real `GlueClient` serializes, signs and
 * parses as it would against Glue. Hand-written because no maintained Glue emulator runs in Node (moto and LocalStack
 * are Python/Docker); it keeps only what Glue documents for these two calls: a table version that UpdateTable's
 * `VersionId` must match (else `ConcurrentModificationException`), and a `TableInput` without GetTable's read-only
 * fields (else `InvalidInputException`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GlueClient } from '@aws-sdk/client-glue';

/** The fields of Glue's TableInput (API reference); GetTable returns more, which UpdateTable rejects. */
const TABLE_INPUT_FIELDS = new Set([
  'Name',
  'Description',
  'Owner',
  'LastAccessTime',
  'LastAnalyzedTime',
  'Retention',
  'StorageDescriptor',
  'PartitionKeys',
  'ViewOriginalText',
  'ViewExpandedText',
  'TableType',
  'Parameters',
  'TargetTable',
  'ViewDefinition',
]);

export interface StoredTable {
  /** The table as GetTable returns it (without `VersionId`, which the stand-in keeps). */
  definition: Record<string, unknown>;
  version: number;
}

export interface GlueStandIn {
  readonly client: GlueClient;
  /** Tables by `<database>.<name>`. */
  readonly tables: Map<string, StoredTable>;
  /** Every request: operation and body. */
  readonly requests: { operation: string; body: Record<string, unknown> }[];
  /** Runs before a request is answered (a test can change a table in between, as a deployment would). */
  beforeRequest?: (operation: string) => void;
  stop(): Promise<void>;
}

export async function startGlue(): Promise<GlueStandIn> {
  const tables = new Map<string, StoredTable>();
  const requests: GlueStandIn['requests'] = [];
  const standIn = { tables, requests } as unknown as GlueStandIn & { beforeRequest?: (operation: string) => void };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target'] ?? '').replace(/^AWSGlue\./, '');
      const body = JSON.parse(text || '{}') as Record<string, unknown>;
      requests.push({ operation, body });
      standIn.beforeRequest?.(operation);
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(payload));
      };
      const error = (type: string, message: string) => reply(400, { __type: type, Message: message });
      const name = operation === 'GetTable' ? body.Name : (body.TableInput as { Name?: string } | undefined)?.Name;
      const stored = tables.get(`${body.DatabaseName}.${name}`);
      if (operation === 'GetTable') {
        if (!stored) return error('EntityNotFoundException', `Table ${name} not found.`);
        return reply(200, {
          Table: { ...stored.definition, DatabaseName: body.DatabaseName, VersionId: String(stored.version) },
        });
      }
      if (operation === 'UpdateTable') {
        if (!stored) return error('EntityNotFoundException', `Table ${name} not found.`);
        const input = body.TableInput as Record<string, unknown>;
        const extra = Object.keys(input).filter((k) => !TABLE_INPUT_FIELDS.has(k));
        if (extra.length > 0)
          return error('InvalidInputException', `Unknown fields in TableInput: ${extra.join(', ')}`);
        if (body.VersionId !== undefined && body.VersionId !== String(stored.version))
          return error('ConcurrentModificationException', 'Update table failed due to concurrent modifications.');
        stored.definition = { ...stored.definition, ...input, UpdateTime: Date.now() / 1000 };
        stored.version += 1;
        return reply(200, {});
      }
      return error('UnknownOperationException', `${operation} is not served by the stand-in`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new GlueClient({
    region: 'eu-west-1',
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  return Object.assign(standIn, {
    client,
    async stop() {
      client.destroy();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  });
}
