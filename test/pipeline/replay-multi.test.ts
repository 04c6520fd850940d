/**
 * Several accounts: the CLI holds one clock for every partition, the pipeline one per partition, advanced by
 * its own files and by the evaluator every 15 minutes. The same episodes must come out: same eventIDs,
 * states, detectors, times and counts; only when they were noticed (`detectedAt`) and the history length at
 * that moment (`baselineDuration`) may differ (docs/pipeline.md, "One clock per partition").
 *
 * Orchestration level (ingestObject + evaluatePartitions) on a store that encodes items exactly like the
 * DynamoDB adapter; the stand-in round trip is covered by replay-e2e.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateScenario, loadBackground } from '../../bench/scenarios/generate';
import { command as detectCommand } from '../../cli/commands/detect';
import { decodeDocument, encodeDocument } from '../../lambda/adapters/dynamodb-state-store';
import { listLocalFiles } from '../../lambda/adapters/local-files';
import { type InsightEvent, resolveDetectConfig } from '../../lambda/core/detect';
import { evaluatePartitions } from '../../lambda/pipeline/evaluate';
import { type IngestPorts, ingestObject } from '../../lambda/pipeline/ingest';
import { emptyDocument, type PartitionStore } from '../../lambda/pipeline/ports';
import { GRYCAP_DAY } from './helpers';

const DAY = 86_400_000;
const EVALUATOR_PERIOD = 15 * 60_000;
/** A day of learning instead of two: a shorter scenario, the same comparison. */
const DETECTOR = { learningHours: 24 };

function encodedMemoryStore(): PartitionStore {
  const items = new Map<string, { v: number; b: Buffer }>();
  const get = async (key: string) => {
    const item = items.get(key);
    return item
      ? { key, document: decodeDocument(item.b), version: item.v, storedBytes: item.b.length }
      : { key, document: emptyDocument(), version: 0, storedBytes: 0 };
  };
  return {
    get,
    async put(key, document, version) {
      if ((items.get(key)?.v ?? 0) !== version) return { ok: false };
      const b = encodeDocument(document);
      items.set(key, { v: version + 1, b });
      return { ok: true, version: version + 1, storedBytes: b.length };
    },
    async *list() {
      for (const key of [...items.keys()]) yield await get(key);
    },
  };
}

/** Every field path where two values differ. */
function differingPaths(a: unknown, b: unknown, at = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      differingPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`),
    );
  }
  return [at];
}

describe('replay of several accounts: per-partition clocks + evaluator = the CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'trailsight-multi-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.detector.json`, { force: true });
  });

  test('finds the same episodes, differing only in when they were noticed', async () => {
    const start = Date.UTC(2026, 2, 2);
    generateScenario(
      loadBackground(GRYCAP_DAY),
      { seed: 1, accounts: 2, days: 3, warmupDays: 2, startDay: start, region: 'us-east-1' },
      dir,
    );
    const until = new Date(start + 3 * DAY + 6 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    // Next to the scenario folder, not in it: the CLI reads every file under the folder it is given.
    const configFile = `${dir}.detector.json`;
    writeFileSync(configFile, JSON.stringify(DETECTOR));
    const out: string[] = [];
    const code = await detectCommand.run([dir, '--format', 'jsonl', '--until', until, '--config', configFile], {
      stdout: (t) => out.push(t),
      stderr: () => undefined,
      stderrIsTty: false,
    });
    expect(code).toBe(0);
    const cli = out
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as InsightEvent);
    expect(new Set(cli.map((i) => i.recipientAccountId)).size).toBe(2);

    const published: InsightEvent[] = [];
    const ports: IngestPorts = {
      store: encodedMemoryStore(),
      sinks: [
        {
          publish: async (details) => {
            published.push(...(details as InsightEvent[]));
            return { published: details.length, failed: [], requests: 1 };
          },
        },
      ],
      objects: {
        open: async (ref) => ({
          body: (async function* () {
            yield readFileSync(path.join(dir, ref.key));
          })(),
        }),
      },
      detectConfig: resolveDetectConfig(DETECTOR),
      dedupeWindowMs: 72 * 3_600_000,
    };
    const files = (await listLocalFiles([dir]))
      .filter((f) => f.info.kind === 'log')
      .sort((a, b) => (a.info.deliveredAt ?? 0) - (b.info.deliveredAt ?? 0) || (a.key < b.key ? -1 : 1));
    // The evaluator runs a minute into every 15-minute period, between the files delivered around it.
    let tick = Math.ceil((files[0].info.deliveredAt ?? 0) / EVALUATOR_PERIOD) * EVALUATOR_PERIOD + 60_000;
    for (const f of files) {
      for (; tick < (f.info.deliveredAt ?? 0); tick += EVALUATOR_PERIOD) {
        expect((await evaluatePartitions(tick, ports)).failures).toEqual([]);
      }
      const key = path.relative(dir, f.path).split(path.sep).join('/');
      const outcome = await ingestObject({ bucket: 'archive', key, etag: key }, ports);
      expect(outcome.status).toBe('processed');
    }
    await evaluatePartitions(Date.parse(until), ports);

    const key = (i: InsightEvent) => `${i.eventID} ${i.insightDetails.state}`;
    expect(published.map(key).sort()).toEqual(cli.map(key).sort());
    const byId = new Map(published.map((i) => [i.eventID, i]));
    const differing = new Set(cli.flatMap((i) => differingPaths(i, byId.get(i.eventID))));
    for (const p of differing) {
      expect(['.trailsight.detectedAt', '.insightDetails.insightContext.statistics.baselineDuration']).toContain(p);
    }
  }, 120_000);
});
