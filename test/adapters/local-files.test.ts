import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  BackgroundSizes,
  listLocalFiles,
  openLocalFile,
  openLocalRecords,
  sizeOf,
} from '../../lambda/adapters/local-files';
import { readTrailEvents } from '../../lambda/core/reader';

async function chunksOf(source: AsyncIterable<Uint8Array>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const c of source) chunks.push(Buffer.from(c));
  return chunks;
}

const record = (i: number) => ({
  eventVersion: '1.08',
  eventTime: '2024-05-01T10:00:00Z',
  eventSource: 'iam.amazonaws.com',
  eventName: 'ListUsers',
  awsRegion: 'us-east-1',
  eventID: `id-${i}`,
  recipientAccountId: '111122223333',
  userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333' },
});

describe('local files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'trailsight-local-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('reads a small file in one chunk', async () => {
    const path = join(dir, 'small.json');
    writeFileSync(path, 'x'.repeat(1000));

    const chunks = await chunksOf(openLocalFile(path));

    expect(chunks).toHaveLength(1);
    expect(chunks[0].toString()).toBe('x'.repeat(1000));
  });

  test('streams a large file in bounded chunks', async () => {
    const path = join(dir, 'large.bin');
    const bytes = Buffer.alloc(6 * 1024 * 1024, 7);
    writeFileSync(path, bytes);

    const chunks = await chunksOf(openLocalFile(path));

    expect(chunks.length).toBeGreaterThan(1);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(1024 * 1024);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
  });

  test('fails on the first read of a missing file, where the reader reports it', async () => {
    const missing = join(dir, 'gone.json.gz');
    await expect(chunksOf(openLocalFile(missing))).rejects.toThrow(/ENOENT/);

    const events = readTrailEvents(openLocalFile(missing), { file: missing });
    const result = await events.next();
    expect(result.done).toBe(true);
    expect(result.value).toMatchObject({ complete: false });
  });

  test('reads gzipped JSON Lines as a CloudTrail document', async () => {
    const path = join(dir, 'events.jsonl.gz');
    writeFileSync(path, gzipSync([record(1), record(2)].map((r) => JSON.stringify(r)).join('\n')));
    const [file] = (await listLocalFiles([path])).filter((f) => f.format === 'jsonl');

    const names: string[] = [];
    for await (const e of readTrailEvents(openLocalRecords(file), { file: path })) names.push(e.eventId ?? '');

    expect(names).toEqual(['id-1', 'id-2']);
  });

  describe('sizes asked on another thread', () => {
    const onTwoCores = availableParallelism() > 1 ? test : test.skip;
    const tree = (name: string, lengths: readonly number[]) => {
      const root = join(dir, name);
      mkdirSync(root);
      for (const [i, n] of lengths.entries()) writeFileSync(join(root, `f${i}.json`), 'x'.repeat(n));
      return root;
    };

    onTwoCores('sizeOf answers what the thread found, without asking again', async () => {
      const root = tree('sized', [10, 200, 3000]);
      const files = await listLocalFiles([root]);

      await new BackgroundSizes().ask(files, 1);
      // Gone now: only the thread's answers can give the sizes.
      rmSync(root, { recursive: true });

      expect(files.map(sizeOf).sort((a, b) => a - b)).toEqual([10, 200, 3000]);
    });

    onTwoCores('a file the thread could not stat is asked again here', async () => {
      const root = tree('missing', [10, 20]);
      const files = await listLocalFiles([root]);
      const gone = files.find((f) => f.path.endsWith('f1.json'))!;
      rmSync(gone.path);

      await new BackgroundSizes().ask(files, 1);
      writeFileSync(gone.path, 'x'.repeat(77));

      expect(sizeOf(gone)).toBe(77);
    });

    onTwoCores('a thread that ended before it was asked leaves the sizes to this thread', async () => {
      const root = tree('ended', [10, 20]);
      const files = await listLocalFiles([root]);
      const sizes = new BackgroundSizes();
      // As if it had failed to start: the thread is gone before it is asked.
      const thread = (sizes as unknown as { thread: import('node:worker_threads').Worker }).thread;
      await thread.terminate();
      await new Promise((r) => setImmediate(r));

      await sizes.ask(files, 1);
      writeFileSync(files[0].path, 'x'.repeat(66));

      expect(sizeOf(files[0])).toBe(66);
    });

    test('fewer files than the minimum are left to this thread', async () => {
      const root = tree('few', [10, 20]);
      const files = await listLocalFiles([root]);

      await new BackgroundSizes().ask(files, 3);
      writeFileSync(files[0].path, 'x'.repeat(55));

      expect(sizeOf(files[0])).toBe(55);
    });

    onTwoCores('a thread not needed ends by itself, not terminated (see stopThread)', async () => {
      const files = await listLocalFiles([tree('unneeded', [10])]);
      const sizes = new BackgroundSizes();
      const thread = (sizes as unknown as { thread: import('node:worker_threads').Worker }).thread;
      const terminate = jest.spyOn(thread, 'terminate');
      const exit = new Promise((r) => thread.once('exit', r));

      await sizes.ask(files, 3);

      expect(await exit).toBe(0);
      expect(terminate).not.toHaveBeenCalled();
    });
  });
});
