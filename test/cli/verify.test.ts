/** `trailsight verify` offline: a local copy of a signed delivery tree, untouched and tampered with. */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { command } from '../../cli/commands/verify';
import { main } from '../../cli/main';
import type { IntegrityReport } from '../../lambda/core/digest';
import { captureIo } from '../support/cli-io';
import { DeliveryTree, generateSigningKey, listPublicKeysJson, type SigningKey } from '../support/digest-tree';

let key: SigningKey;
let tmp: string;
let keysFile: string;

beforeAll(() => {
  key = generateSigningKey();
});
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'trailsight-verify-'));
  keysFile = join(tmp, 'keys.json');
  writeFileSync(keysFile, JSON.stringify(listPublicKeysJson(key)));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

async function run(...args: string[]) {
  const io = captureIo();
  const code = await command.run(args, io);
  return { code, out: io.out, err: io.err };
}

describe('trailsight verify (offline)', () => {
  test('passes an untouched copy with only the newest signature saved, and says so in a table', async () => {
    const tree = new DeliveryTree(key, { hours: 3 });
    tree.writeTo(join(tmp, 'copy'), 'newest');

    const { code, out, err } = await run(join(tmp, 'copy'), '--public-keys', keysFile);

    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toMatch(/^CloudTrail log file integrity: PASS\n/);
    expect(out).toContain('digests:   3 read, 3 verified, 0 unauthenticated, 0 rejected, 0 unreadable');
    expect(out).toContain('log files: 6 listed, 6 verified');
    expect(out).toMatch(/111122223333\/eu-west-1\/trailsight\s+3\s+2024-03-01T00:01:31Z\s+2024-03-01T03:01:31Z/);
  });

  test('finds a copy under any folder, by the keys from AWSLogs/ on', async () => {
    new DeliveryTree(key, { hours: 2 }).writeTo(join(tmp, 'evidence', 'case-42', 'bucket-copy'), 'newest');

    const { code } = await run(join(tmp, 'evidence'), '--public-keys', keysFile);

    expect(code).toBe(0);
  });

  test('exits 1 and names each tampered file and its kind, in JSON too', async () => {
    const tree = new DeliveryTree(key, { hours: 3 });
    tree.writeTo(join(tmp, 'copy'), 'newest');
    const deleted = tree.logKeysByHour[1][0];
    unlinkSync(join(tmp, 'copy', deleted));
    const planted = tree.logKeysByHour[0][0].replace(/_[0-9a-f]{16}\.json\.gz$/, '_PLANTEDplanted00.json.gz');
    writeFileSync(join(tmp, 'copy', planted), tree.object(tree.logKeysByHour[0][1]).body);

    const json = await run(join(tmp, 'copy'), '--public-keys', keysFile, '--format', 'json');
    const table = await run(join(tmp, 'copy'), '--public-keys', keysFile);

    expect(json.code).toBe(1);
    const report = JSON.parse(json.out) as IntegrityReport & { scope: string };
    expect(report.status).toBe('FAIL');
    expect(report.findings.map((f) => [f.kind, f.file])).toEqual(
      [
        ['log-unlisted', planted],
        ['log-missing', deleted],
      ].sort((a, b) => (a[1] < b[1] ? -1 : 1)),
    );
    expect(table.code).toBe(1);
    expect(table.out).toMatch(/^CloudTrail log file integrity: FAIL/);
    expect(table.out).toMatch(new RegExp(`error\\s+log-missing\\s+${deleted.replace(/\./g, '\\.')}`));
    expect(table.out).toContain('details:');
  });

  test('reports the newest digest unauthenticated when its signature was not saved', async () => {
    const tree = new DeliveryTree(key, { hours: 2 });
    tree.writeTo(join(tmp, 'copy'), 'none');

    const { code, out } = await run(join(tmp, 'copy'), '--public-keys', keysFile, '--format', 'json');

    expect(code).toBe(1);
    expect((JSON.parse(out) as IntegrityReport).findings.map((f) => f.kind)).toEqual(['digest-signature-missing']);
  });

  test('warns about an unreadable metadata file and goes on without it', async () => {
    const tree = new DeliveryTree(key, { hours: 2 });
    tree.writeTo(join(tmp, 'copy'), 'newest');
    writeFileSync(join(tmp, 'copy', `${tree.digestKeys[1]}.metadata.json`), '{not json');

    const { code, err } = await run(join(tmp, 'copy'), '--public-keys', keysFile);

    expect(code).toBe(1);
    expect(err).toMatch(/warning: .*\.metadata\.json: not readable JSON/);
  });

  test('is registered in the command list', async () => {
    const io = captureIo();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.out).toMatch(/\n {2}verify\n/);
  });
});

describe('trailsight verify usage', () => {
  test.each([
    [['somewhere'], /offline verification needs --public-keys FILE/],
    [[], /give either local paths or --bucket/],
    [['x', '--bucket', 'b'], /give either local paths or --bucket/],
    [['x', '--public-keys', 'k', '--format', 'xml'], /--format must be one of table, json \(got 'xml'\)/],
    [['--bucket', 'b', '--from', 'yesterday'], /--from \(and --to\) must be ISO-8601 times/],
    [['--bucket', 'b', '--from', '2024-03-02T00:00:00Z', '--to', '2024-03-01T00:00:00Z'], /--from first/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('exits 2 for %j', async (args, message) => {
    const { code, err } = await run(...args);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });

  test('exits 2 when the public keys file is not JSON', async () => {
    writeFileSync(keysFile, 'not json');
    const { code, err } = await run(tmp, '--public-keys', keysFile);
    expect(code).toBe(2);
    expect(err).toMatch(/cannot read public keys from .*keys\.json/);
  });

  test('exits 2 when a path does not exist', async () => {
    const { code, err } = await run(join(tmp, 'nope'), '--public-keys', keysFile);
    expect(code).toBe(2);
    expect(err).toMatch(/no such file or directory: .*nope/);
  });

  test('prints the help with exit 0', async () => {
    const { code, out } = await run('--help');
    expect(code).toBe(0);
    expect(out).toMatch(/^usage: trailsight verify <path\.\.\.> --public-keys FILE/);
  });
});
