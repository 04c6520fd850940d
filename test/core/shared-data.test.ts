/**
 * Runs the reader over every file in ../shared/data and checks the counts each folder's SOURCE.md states.
 * Delivery files (`.json.gz`) and CloudTrail documents are read as they are; JSON Lines, single events and the
 * lookup-events output go through small adapters, as a user of the CLI would convert them.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { jsonLinesAsRecords } from '../../lambda/adapters/local-files';
import { EventIdDeduper } from '../../lambda/core/dedupe';
import type { TrailEvent } from '../../lambda/core/event';
import type { ReadReport } from '../../lambda/core/reader';
import { chunked, DATA_DIR, type Drained, drain, walk } from './helpers';

type Json = Record<string, unknown>;

function countBy<T>(items: T[], key: (t: T) => string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of items) {
    const k = key(t);
    if (k !== undefined) m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

function skippedTotal(report: ReadReport): number {
  return Object.values(report.skipped).reduce((a, b) => a + (b ?? 0), 0);
}

async function readDeliveryFiles(files: string[]): Promise<{ events: TrailEvent[]; reports: ReadReport[] }> {
  const dedupe = new EventIdDeduper();
  const events: TrailEvent[] = [];
  const reports: ReadReport[] = [];
  for (const file of files) {
    const r = await drain(createReadStream(file), { file, dedupe });
    events.push(...r.events);
    reports.push(r.report);
  }
  return { events, reports };
}

describe('every file in ../shared/data', () => {
  const all = walk(DATA_DIR);

  test('lists the files this suite covers (a new file there must be added here)', () => {
    const covered = all.filter(
      (f) =>
        f.endsWith('.json.gz') ||
        f.includes('/stratus-red-team/detonation-logs/') ||
        f.includes('/awsdocs-cloudtrail-user-guide/examples/') ||
        f.endsWith('.jsonl') ||
        f.includes('/otrf-security-datasets/ec2_proxy'),
    );
    // Detection rules, not logs: the rule engine's tests load them.
    const sigma = all.filter((f) => f.includes('/sigmahq-cloudtrail-rules/'));
    expect(sigma.filter((f) => f.endsWith('.yml'))).toHaveLength(57);
    const rest = all
      .filter((f) => !covered.includes(f) && !(sigma.includes(f) && f.endsWith('.yml')))
      .map((f) => relative(DATA_DIR, f));
    expect(rest.sort()).toEqual(
      [
        'README.md',
        'awsdocs-cloudtrail-user-guide/SOURCE.md',
        'awsdocs-cloudtrail-user-guide/index.json',
        'flaws2-cloud/SOURCE.md',
        'grycap-cloudtrail-tracker/SOURCE.md',
        'otrf-security-datasets/SOURCE.md',
        'panther-analysis/SOURCE.md',
        'sigmahq-cloudtrail-rules/LICENSE-SigmaHQ.md',
        'sigmahq-cloudtrail-rules/SOURCE.md',
        'stratus-red-team/SOURCE.md',
        'stratus-red-team/index.yaml',
      ].sort(),
    );
  });

  describe('grycap-cloudtrail-tracker (1,067 raw delivery files)', () => {
    let events: TrailEvent[];
    let reports: ReadReport[];
    beforeAll(async () => {
      ({ events, reports } = await readDeliveryFiles(
        all.filter((f) => f.includes('/grycap-cloudtrail-tracker/') && f.endsWith('.gz')),
      ));
    });

    test('reads 17,598 events from 1,067 files with no issue and no duplicate eventID', () => {
      expect(reports).toHaveLength(1067);
      expect(reports.filter((r) => !r.complete || skippedTotal(r) > 0)).toEqual([]);
      expect(events).toHaveLength(17598);
      expect(new Set(events.map((e) => e.eventId)).size).toBe(17598);
    });

    test('matches the per-folder counts of SOURCE.md', () => {
      const byFolder = (part: string) => reports.filter((r) => r.file.includes(part)).reduce((n, r) => n + r.events, 0);
      expect(byFolder('/examples/')).toBe(11410);
      expect(byFolder('_us-east-1_2014')).toBe(4442);
      expect(byFolder('_sa-east-1_2018')).toBe(1746);
    });

    test('matches the eventName, errorCode, sign-in and eventVersion-1.01 counts of SOURCE.md', () => {
      expect(new Set(events.map((e) => e.name)).size).toBe(293);
      expect(events.filter((e) => e.errorCode).length).toBe(1321);
      expect(countBy(events, (e) => e.errorCode).size).toBe(30);
      expect(events.filter((e) => e.eventType === 'AwsConsoleSignIn')).toHaveLength(36);
      // The 2,629 eventVersion 1.01 events have no eventType field.
      expect(events.filter((e) => e.eventType === undefined)).toHaveLength(2629);
      expect(countBy(events, (e) => e.source).size).toBe(21);
    });

    test('infers read/write from the API name for the records without readOnly', () => {
      const inferred = events.filter((e) => e.readOnlyInferred);
      expect(inferred.length).toBeGreaterThan(15000);
      const names = (ro: boolean) => new Set(inferred.filter((e) => e.readOnly === ro).map((e) => e.name));
      for (const n of ['DescribeInstances', 'DescribeAlarms', 'GetBucketLocation', 'ListBuckets', 'AssumeRole']) {
        expect(names(true).has(n)).toBe(true);
      }
      for (const n of ['RunInstances', 'TerminateInstances', 'CreateStack', 'ConsoleLogin']) {
        expect(names(false).has(n)).toBe(true);
      }
    });
  });

  test('flaws2-cloud: 37 events in 8 files, as SOURCE.md lists them', async () => {
    const files = all.filter((f) => f.includes('/flaws2-cloud/') && f.endsWith('.gz'));
    const { events, reports } = await readDeliveryFiles(files);
    expect(reports.every((r) => r.complete)).toBe(true);
    expect(events).toHaveLength(37);
    expect(countBy(events, (e) => e.name)).toEqual(
      new Map([
        ['GetObject', 22],
        ['CreateLogStream', 5],
        ['AssumeRole', 3],
        ['Invoke', 2],
        ['ListObjects', 1],
        ['ListBuckets', 1],
        ['ListImages', 1],
        ['BatchGetImage', 1],
        ['GetDownloadUrlForLayer', 1],
      ]),
    );
    expect(countBy(events, (e) => e.errorCode)).toEqual(
      new Map([
        ['AccessDenied', 5],
        ['NoSuchKey', 2],
      ]),
    );
    // The stolen Lambda role, used from the attacker's address, folds to the role.
    const stolen = events.filter((e) => e.sourceIp === '104.102.221.250' && e.principalKind === 'AssumedRole');
    expect(countBy(stolen, (e) => e.principal)).toEqual(
      new Map([
        ['arn:aws:iam::653711331788:role/service-role/level1', 4],
        ['arn:aws:iam::653711331788:role/level3', 1],
      ]),
    );
    expect(events.filter((e) => e.principalKind === 'Anonymous').length).toBeGreaterThan(0);
  });

  test('stratus-red-team: 310 events in 35 JSON arrays, as SOURCE.md lists them', async () => {
    const files = all.filter((f) => f.includes('/detonation-logs/'));
    expect(files).toHaveLength(35);
    const { events, reports } = await readDeliveryFiles(files);
    expect(reports.every((r) => r.complete && skippedTotal(r) === 0)).toBe(true);
    expect(events).toHaveLength(310);
    expect(new Set(events.map((e) => e.name)).size).toBe(54);
    expect(countBy(events, (e) => e.eventType)).toEqual(
      new Map([
        ['AwsApiCall', 309],
        ['AwsConsoleSignIn', 1],
      ]),
    );
    expect(countBy(events, (e) => e.errorCode)).toEqual(
      new Map([
        ['Client.UnauthorizedOperation', 46],
        ['AccessDenied', 5],
        ['EntityTemporarilyUnmodifiableException', 1],
      ]),
    );
    // Fake region names are kept, not rejected.
    expect(events.some((e) => e.region === 'apiso-centralnorth-2r')).toBe(true);
  });

  test('otrf-security-datasets: 103 NDJSON events (time from @timestamp), 11 by the stolen instance role', async () => {
    const file = all.find((f) => f.includes('/otrf-security-datasets/') && f.endsWith('.json')) as string;
    // The Logstash export has no eventTime; the adapter copies @timestamp, as a user converting it would.
    const withTime = (line: string) => {
      const r = JSON.parse(line) as Json;
      return JSON.stringify({ ...r, eventTime: r['@timestamp'] });
    };
    const { events, report } = await drain(jsonLinesAsRecords(createReadStream(file), withTime), { file });
    expect(report).toMatchObject({ complete: true, records: 103, events: 103, skipped: {} });
    expect(new Set(events.map((e) => e.name)).size).toBe(26);
    const attacker = events.filter(
      (e) =>
        e.principal === 'arn:aws:iam::123456789123:role/MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0' &&
        e.sourceIp === '1.2.3.4',
    );
    expect(countBy(attacker, (e) => e.name)).toEqual(
      new Map([
        ['ListBuckets', 2],
        ['ListObjects', 7],
        ['GetObject', 2],
      ]),
    );
  });

  test('otrf-security-datasets read without the adapter skips every line as missing eventTime, not as a crash', async () => {
    const file = all.find((f) => f.includes('/otrf-security-datasets/') && f.endsWith('.json')) as string;
    const { events, report } = await drain(jsonLinesAsRecords(createReadStream(file)), { file });
    expect(events).toEqual([]);
    expect(report.skipped).toEqual({ 'record-missing-field': 103 });
  });

  describe('panther-analysis JSON Lines (the event is under "log")', () => {
    const unwrap = (line: string) => JSON.stringify((JSON.parse(line) as Json).log);

    async function readPanther(name: string): Promise<{ result: Drained; logs: Json[] }> {
      const file = join(DATA_DIR, 'panther-analysis', name);
      const logs = readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => (JSON.parse(l) as Json).log as Json);
      return { result: await drain(jsonLinesAsRecords(createReadStream(file), unwrap), { file }), logs };
    }

    test('reads all 473 rule-test rows: usable events, the rest skipped with a reason', async () => {
      const { result, logs } = await readPanther('cloudtrail_rule_tests.jsonl');
      expect(logs).toHaveLength(473);
      const { report } = result;
      expect(report.records).toBe(473);
      expect(report.events + skippedTotal(report)).toBe(473);
      // Independent of the normalizer: rows without string eventTime/eventName (incl. the 8 lowercase-key rows) …
      const missing = logs.filter((l) => typeof l.eventTime !== 'string' || typeof l.eventName !== 'string');
      expect(missing.length).toBeGreaterThanOrEqual(8);
      // … and rows whose eventTime is a placeholder ("redacted", "...").
      const placeholder = logs.filter(
        (l) => typeof l.eventName === 'string' && typeof l.eventTime === 'string' && !/^\d{4}-/.test(l.eventTime),
      );
      expect(placeholder.length).toBeGreaterThan(0);
      expect(report.skipped).toEqual({
        'record-missing-field': missing.length,
        'record-bad-time': placeholder.length,
      });
      expect(report.events).toBe(473 - missing.length - placeholder.length);
      // Panther's own time format ("2026-01-11 22:54:56.000000000") is read as UTC.
      expect(result.events.some((e) => e.time === Date.UTC(2026, 0, 11, 22, 54, 56))).toBe(true);
    });

    test('reads the 27 scenario events', async () => {
      const { result } = await readPanther('test_scenarios_cloudtrail.jsonl');
      expect(result.report).toMatchObject({ records: 27, events: 27, complete: true });
      expect(
        result.events.filter((e) => e.name === 'ConsoleLogin' && e.loginOutcome === 'Failure').length,
      ).toBeGreaterThan(0);
    });
  });

  describe('awsdocs-cloudtrail-user-guide (26 examples, counts from index.json)', () => {
    interface IndexEntry {
      file: string;
      kind: string;
      event_count: number;
      eventNames: string[];
    }
    const index = JSON.parse(
      readFileSync(join(DATA_DIR, 'awsdocs-cloudtrail-user-guide/index.json'), 'utf8'),
    ) as IndexEntry[];
    const path = (e: IndexEntry) => join(DATA_DIR, 'awsdocs-cloudtrail-user-guide', e.file);

    test('the index covers every example file', () => {
      const examples = all
        .filter((f) => f.includes('/awsdocs-cloudtrail-user-guide/examples/'))
        .map((f) => basename(f));
      expect(index.map((e) => basename(e.file)).sort()).toEqual(examples.sort());
    });

    test('log files: every record is read, as an event or an Insights skip', async () => {
      const logFiles = index.filter((e) => e.kind === 'log_file');
      expect(logFiles).toHaveLength(9);
      for (const entry of logFiles) {
        const { events, report } = await drain(createReadStream(path(entry)), { file: entry.file });
        expect({ file: entry.file, records: report.records, complete: report.complete }).toEqual({
          file: entry.file,
          records: entry.event_count,
          complete: true,
        });
        expect(report.events + skippedTotal(report)).toBe(entry.event_count);
        if (entry.file.includes('insights')) expect(report.skipped).toEqual({ 'insight-record': entry.event_count });
        else expect(new Set(events.map((e) => e.name))).toEqual(new Set(entry.eventNames));
      }
    });

    test('single events, wrapped in a Records document, give their sign-in outcome and MFA use', async () => {
      const singles = index.filter((e) => e.kind === 'event' || e.kind === 'event_fragment');
      // 13 events + 1 fragment per index.json (SOURCE.md's prose says 14 + 1; the index is the file-by-file list).
      expect(singles).toHaveLength(14);
      const events: TrailEvent[] = [];
      let records = 0;
      let skipped = 0;
      for (const entry of singles) {
        const wrapped = Buffer.from(`{"Records":[${readFileSync(path(entry), 'utf8')}]}`);
        const r = await drain(chunked(wrapped), { file: entry.file });
        records += r.report.records;
        skipped += skippedTotal(r.report);
        events.push(...r.events);
        expect(r.report.complete).toBe(true);
      }
      expect(records).toBe(14);
      expect(events.length + skipped).toBe(14);
      const logins = events.filter((e) => e.name === 'ConsoleLogin');
      expect(logins.filter((e) => e.loginOutcome === 'Failure').length).toBe(2);
      expect(logins.filter((e) => e.mfaUsed === true).length).toBe(2);
      expect(events.find((e) => e.principalKind === 'Root')?.principal).toMatch(/^arn:aws:iam::\d{12}:root$/);
    });

    test('digest files fail with no-records (they are not log files)', async () => {
      for (const entry of index.filter((e) => e.kind === 'digest_file')) {
        const { events, issues } = await drain(createReadStream(path(entry)), { file: entry.file });
        expect(events).toEqual([]);
        expect(issues).toEqual([expect.objectContaining({ kind: 'no-records', file: entry.file })]);
      }
    });

    test('lookup-events output: the embedded Insights events are read and skipped as Insights', async () => {
      const entry = index.find((e) => e.kind === 'lookup_events_output') as IndexEntry;
      const out = JSON.parse(readFileSync(path(entry), 'utf8')) as { Events: Array<{ CloudTrailEvent?: unknown }> };
      // The CLI prints CloudTrailEvent as an embedded JSON string; this doc example shows the events inline.
      const records = out.Events.map((e) =>
        typeof e.CloudTrailEvent === 'string' ? e.CloudTrailEvent : JSON.stringify(e),
      );
      const doc = Buffer.from(`{"Records":[${records.join(',')}]}`);
      const { report } = await drain(chunked(doc), { file: entry.file });
      expect(report).toMatchObject({ records: 2, events: 0, skipped: { 'insight-record': 2 } });
    });
  });
});
