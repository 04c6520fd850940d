/**
 * summary, query and detect agree on what they read: an empty directory is an empty result (exit 0), every
 * accepted document shape gives the same events, and the same delivery reached twice (synced into two folders,
 * or through a symlink) counts once.
 */
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { command as detect } from '../../cli/commands/detect';
import { command as query } from '../../cli/commands/query';
import { command as summary } from '../../cli/commands/summary';
import { captureIo } from '../support/cli-io';

const FLAWS_DAY = resolve(__dirname, '../../samples/flaws2-cloud/AWSLogs/653711331788/CloudTrail/us-east-1/2018/11/28');
const FLAWS_FILE = '653711331788_CloudTrail_us-east-1_20181128T2310Z_rp9i9zxR2Vcpqfnz.json.gz';

const COUNT_SQL = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'trailsight-agree-sql-'));
  const file = join(dir, 'count.sql');
  writeFileSync(
    file,
    [
      '-- @title Count',
      '-- @description Events.',
      '-- @param start timestamp = -7d  Start',
      '-- @param end timestamp = now  End',
      '-- @returns n',
      "SELECT count(*) AS n FROM cloudtrail_logs WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}' AND eventtime >= '{{start}}' AND eventtime < '{{end}}'",
    ].join('\n'),
  );
  return file;
})();

/** Events each command reads from `paths`, and each exit status. */
async function counts(...paths: string[]) {
  const s = captureIo();
  const sCode = await summary.run([...paths, '--format', 'json', '--threads', '0'], s);
  const q = captureIo();
  const qCode = await query.run([COUNT_SQL, ...paths.flatMap((p) => ['--logs', p]), '--format', 'json'], q);
  const d = captureIo();
  const dCode = await detect.run([...paths, '--format', 'jsonl'], d);
  return {
    summary: (JSON.parse(s.out) as { events: number }).events,
    query: (JSON.parse(q.out) as { n: number }[])[0]?.n,
    detect: Number(/(\d+) events/.exec(d.err)?.[1]),
    codes: [sCode, qCode, dCode],
  };
}

const record = (id: string) => ({
  eventVersion: '1.08',
  eventTime: '2024-03-01T10:00:00Z',
  eventSource: 'iam.amazonaws.com',
  eventName: 'ListUsers',
  awsRegion: 'us-east-1',
  eventID: id,
  recipientAccountId: '111122223333',
  userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333' },
});

describe('summary, query and detect agree', () => {
  test('on an empty directory: no events, exit 0 for all three', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'trailsight-agree-empty-'));
    expect(await counts(empty)).toEqual({ summary: 0, query: 0, detect: 0, codes: [0, 0, 0] });
  });

  test('on every accepted shape: delivery document, array, single record, lookup-events output, JSON Lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trailsight-agree-shapes-'));
    writeFileSync(join(dir, 'delivery.json.gz'), gzipSync(JSON.stringify({ Records: [record('a1'), record('a2')] })));
    writeFileSync(join(dir, 'array.json'), JSON.stringify([record('b1'), record('b2'), record('b3')]));
    writeFileSync(join(dir, 'single.json'), JSON.stringify(record('c1')));
    writeFileSync(
      join(dir, 'lookup.json'),
      JSON.stringify({ Events: [{ EventId: 'd1', CloudTrailEvent: JSON.stringify(record('d1')) }] }),
    );
    writeFileSync(join(dir, 'lines.jsonl'), `${JSON.stringify(record('e1'))}\n${JSON.stringify(record('e2'))}\n`);
    expect(await counts(dir)).toEqual({ summary: 9, query: 9, detect: 9, codes: [0, 0, 0] });
  });

  test('on the same delivery synced into two folders and reached through a symlink: read once', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trailsight-agree-dup-'));
    for (const copy of ['sync-1', 'sync-2']) {
      const day = join(root, copy, 'AWSLogs/653711331788/CloudTrail/us-east-1/2018/11/28');
      mkdirSync(day, { recursive: true });
      copyFileSync(join(FLAWS_DAY, FLAWS_FILE), join(day, FLAWS_FILE));
    }
    symlinkSync(join(root, 'sync-1'), join(root, 'linked'));
    const once = await counts(join(root, 'sync-1'));
    expect(once.summary).toBeGreaterThan(0);
    expect(await counts(root)).toEqual({ ...once, codes: [0, 0, 0] });
    expect(once).toEqual({ summary: once.summary, query: once.summary, detect: once.summary, codes: [0, 0, 0] });
  });
});
