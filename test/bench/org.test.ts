/**
 * The organization evaluation family (bench/scenarios/org.ts, scored by bench/eval-org.ts): the generator is
 * deterministic per seed, what the labels say was injected (or went missing) is what the delivery files hold, and
 * the scorer credits an insight about an injection and counts one about a benign look-alike as false.
 * A small organization (sandbox and CI/CD, 9 days) keeps it to a few seconds.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { flags, scoreOrg } from '../../bench/eval-org';
import { generateOrgScenario, type OrgOptions, type OrgScenario, orgOptions } from '../../bench/scenarios/org';
import { emptyScore } from '../../bench/scenarios/score';
import { ShapeLibrary } from '../../bench/scenarios/shapes';
import type { DetectorKind, InsightEvent } from '../../lambda/core/detect';
import { foldPrincipal } from '../../lambda/core/normalize';

const DATA = path.resolve(__dirname, '../../../shared/data');
const MIN = 60_000;
// Starts on a Tuesday: the test days (from Friday) hold four working days for the look-alikes. Seed 1 draws no
// digest files for these two accounts (17 Regions × hourly digests would make the test four times slower).
const OPTIONS: OrgOptions = { ...orgOptions(1), days: 9, warmupDays: 3, characters: ['sandbox', 'cicd'] };

interface Logged {
  readonly account: string;
  readonly region: string;
  readonly time: number;
  readonly name: string;
  readonly principal: string;
  /** The delivery time in the file's name. */
  readonly deliveredAt: number;
}

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

function fingerprint(dir: string): string {
  const h = createHash('sha256');
  for (const f of files(dir)) h.update(f).update(readFileSync(path.join(dir, f)));
  return h.digest('hex');
}

function logged(dir: string): Logged[] {
  const out: Logged[] = [];
  for (const f of files(dir).filter((n) => n.includes(`${path.sep}CloudTrail${path.sep}`))) {
    const stamp = /_(\d{8}T\d{4})Z_/.exec(f)![1];
    const deliveredAt = Date.parse(
      `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11)}Z`,
    );
    const { Records } = JSON.parse(gunzipSync(readFileSync(path.join(dir, f))).toString('utf8')) as {
      Records: Record<string, unknown>[];
    };
    for (const r of Records) {
      out.push({
        account: String(r.recipientAccountId),
        region: String(r.awsRegion),
        time: Date.parse(String(r.eventTime)),
        name: String(r.eventName),
        principal: foldPrincipal(r.userIdentity).principal,
        deliveredAt,
      });
    }
  }
  return out;
}

function insight(
  account: string,
  region: string,
  t: number,
  detector: string,
  principal: string,
  name: string,
): InsightEvent {
  const time = new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    eventVersion: '1.08',
    eventTime: time,
    awsRegion: region,
    eventID: `id-${t}`,
    eventType: 'AwsCloudTrailInsight',
    recipientAccountId: account,
    sharedEventID: `shared-${t}`,
    eventCategory: 'Insight',
    insightDetails: {
      state: 'Start',
      eventSource: 'ec2.amazonaws.com',
      eventName: name,
      insightType: 'ApiCallRateInsight',
      insightContext: {
        statistics: { baseline: { average: 0 }, insight: { average: 1 }, baselineDuration: 0, insightDuration: 10 },
        attributions: [],
      },
    },
    trailsight: {
      detector: detector as DetectorKind,
      detectedAt: new Date(t + 5 * MIN).toISOString(),
      principal,
      eventNames: [name],
      errorCodes: [],
      observed: 1,
      expected: 0,
      score: 0,
      windowMinutes: 10,
      explanation: 'test insight',
    },
  };
}

describe('the organization evaluation family', () => {
  let root: string;
  let scenario: OrgScenario;
  let dir: string;

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'eval-org-'));
    dir = path.join(root, 'a');
    scenario = generateOrgScenario(ShapeLibrary.load(DATA), OPTIONS, dir);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes the same files, labels and look-alikes for the same seed, and others for another seed', () => {
    const lib = ShapeLibrary.load(DATA);
    const again = generateOrgScenario(lib, OPTIONS, path.join(root, 'b'));
    expect(fingerprint(path.join(root, 'b'))).toBe(fingerprint(dir));
    expect(JSON.stringify(again)).toBe(JSON.stringify(scenario));
    expect(scenario.accounts.map((a) => a.character)).toEqual(['sandbox', 'cicd']);
    expect(scenario.digestFiles).toBe(0);
    const other = generateOrgScenario(lib, { ...OPTIONS, seed: 10, characters: ['sandbox'] }, path.join(root, 'c'));
    const sandbox = scenario.labels.filter((l) => l.account === scenario.accounts[0].id);
    expect(other.labels.map((l) => [l.kind, l.start])).not.toEqual(sandbox.map((l) => [l.kind, l.start]));
  });

  it('delivers what each label says was injected, and nothing of what it says went missing', () => {
    const events = logged(dir);
    expect(events.length).toBe(scenario.events);
    const injected = scenario.labels.filter((l) => l.size > 0);
    const missing = scenario.labels.filter((l) => l.size === 0);
    expect(injected.length).toBeGreaterThan(0);
    expect(missing.length).toBeGreaterThan(0);
    for (const l of injected) {
      const found = events.filter(
        (e) =>
          e.account === l.account &&
          (l.regions === 'account' || l.regions.includes(e.region)) &&
          e.principal === l.principal &&
          l.eventNames.includes(e.name) &&
          e.time >= l.start - 1000 &&
          e.time <= l.end + 1000,
      );
      expect({ label: l.note, delivered: found.length >= l.size }).toEqual({ label: l.note, delivered: true });
    }
    for (const l of missing) {
      const inSilence = (e: Logged): boolean => e.account === l.account && e.time >= l.start && e.time < l.end;
      const leaked =
        l.kind === 'trail-stopped'
          ? // Nothing that happened while the trail was stopped is delivered before it resumes.
            events.filter((e) => inSilence(e) && e.deliveredAt < l.end)
          : events.filter(
              (e) =>
                inSilence(e) && e.principal === l.principal && l.regions !== 'account' && l.regions.includes(e.region),
            );
      expect({ label: l.note, leaked: leaked.length }).toEqual({ label: l.note, leaked: 0 });
    }
  });

  it('credits an insight about an injection and counts one about a look-alike as false', () => {
    const l = scenario.labels.find((x) => x.size > 0 && x.principal !== undefined && x.regions !== 'account')!;
    const a = scenario.lookAlikes.find((x) => x.kind === 'onboarding')!;
    expect(l).toBeDefined();
    expect(a).toBeDefined();
    const regions = l.regions as readonly string[];
    const hit = insight(l.account, regions[0], l.start + MIN, l.detector, l.principal!, l.eventNames[0]);
    const falseAlarm = insight(a.account, a.regions[0], a.start + MIN, 'iam-burst', a.principal!, 'CreateUser');
    const score = scoreOrg(scenario, [hit, falseAlarm], emptyScore());
    expect(score.labels).toBe(scenario.labels.length);
    expect(score.detected).toBe(1);
    expect(score.byKind[l.kind].detectedByKind).toBe(1);
    expect(score.matchedStarts).toBe(1);
    expect(score.falseInTestPeriod).toBe(1);
    expect(score.falseOnCleanDays).toBe(1);
    expect(score.falseByDetector).toEqual({ 'iam-burst': 1 });
    expect(score.unmatched).toEqual([falseAlarm]);
    expect(flags(falseAlarm, a)).toBe(true);
    expect(flags(hit, a)).toBe(false);
    const someoneElse = insight(
      a.account,
      a.regions[0],
      a.start + MIN,
      'recon',
      `arn:aws:iam::${a.account}:user/x`,
      'ListUsers',
    );
    expect(flags(someoneElse, a)).toBe(false);
    // The same insight a Region away, or a day later, is no longer about the injection.
    const elsewhere = insight(l.account, 'ap-south-1', l.start + MIN, l.detector, l.principal!, l.eventNames[0]);
    const later = insight(l.account, regions[0], l.end + 24 * 60 * MIN, l.detector, l.principal!, l.eventNames[0]);
    expect(scoreOrg(scenario, [elsewhere, later], emptyScore()).detected).toBe(0);
  });
});
