/**
 * Builds large, realistic CloudTrail delivery files for the benchmark from the real record shapes in
 * `../shared/data` (grycap, flaws2, Stratus Red Team): each output record is a real record with a fresh
 * eventID/requestID and a moving eventTime, so sizes, field mixes and compression ratios stay realistic.
 * Files go to `.bench/` (git-ignored) and are reused when present.
 */

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';

export interface BenchFile {
  readonly name: string;
  readonly path: string;
  readonly gzipBytes: number;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Every real record with the CloudTrail shape we can find in the shared data (delivery files and arrays). */
export function loadTemplates(dataDir: string): Record<string, unknown>[] {
  const templates: Record<string, unknown>[] = [];
  for (const file of walk(dataDir)) {
    if (file.endsWith('.json.gz')) {
      const doc = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { Records?: unknown[] };
      for (const r of doc.Records ?? []) templates.push(r as Record<string, unknown>);
    } else if (file.includes('detonation-logs') && file.endsWith('.json')) {
      for (const r of JSON.parse(readFileSync(file, 'utf8')) as unknown[]) templates.push(r as Record<string, unknown>);
    }
  }
  return templates;
}

/** Writes `{"Records":[…]}` gzipped until the compressed size reaches `targetGzipBytes`. */
export async function generateFile(
  path: string,
  templates: Record<string, unknown>[],
  targetGzipBytes: number,
): Promise<void> {
  const tmp = `${path}.tmp`;
  const gzip = createGzip({ level: 6 });
  const out = createWriteStream(tmp);
  gzip.pipe(out);
  let written = 0;
  gzip.on('data', (c: Buffer) => {
    written += c.length;
  });
  const write = (s: string) => (gzip.write(s) ? Promise.resolve() : new Promise<void>((r) => gzip.once('drain', r)));
  await write('{"Records":[');
  let time = Date.UTC(2026, 10, 1);
  let n = 0;
  // Flush every batch so `written` tracks the compressed size closely enough to stop near the target.
  while (written < targetGzipBytes) {
    const batch: string[] = [];
    for (let j = 0; j < 2000; j++) {
      const t = templates[(n * 7919) % templates.length];
      time += 37;
      const record = {
        ...t,
        eventID: randomUUID(),
        requestID: randomUUID(),
        eventTime: new Date(time).toISOString().slice(0, 19) + 'Z',
      };
      batch.push((n === 0 ? '' : ',') + JSON.stringify(record));
      n++;
    }
    await write(batch.join(''));
    await new Promise<void>((r) => gzip.flush(() => r()));
  }
  await write(']}');
  await new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
    gzip.end();
  });
  renameSync(tmp, path);
}

export const BENCH_SIZES: ReadonlyArray<{ name: string; mb: number }> = [
  { name: 'small-2MB', mb: 2 },
  { name: 'medium-12MB', mb: 12 },
  { name: 'max-50MB', mb: 50 },
];

/** Makes the benchmark files that are missing and returns all of them. */
export async function ensureBenchFiles(
  benchDir: string,
  dataDir: string,
  log: (s: string) => void,
): Promise<BenchFile[]> {
  let templates: Record<string, unknown>[] | undefined;
  const files: BenchFile[] = [];
  for (const { name, mb } of BENCH_SIZES) {
    const path = join(benchDir, `${name}.json.gz`);
    if (!existsSync(path)) {
      templates ??= loadTemplates(dataDir);
      log(`generating ${path} (~${mb} MB gzip) from ${templates.length} real records…`);
      await generateFile(path, templates, mb * 1024 * 1024);
    }
    files.push({ name, path, gzipBytes: statSync(path).size });
  }
  return files;
}

/** The shape of a generated delivery tree (see {@link ensureTree}). */
export interface TreeSpec {
  /** Folder name under `.bench/`. */
  readonly name: string;
  readonly accounts: number;
  readonly days: number;
  /** Regions and the share of the 288 five-minute slots of a day in which each delivers a file. */
  readonly regions: readonly { readonly name: string; readonly share: number }[];
  /** Mean events per delivery file (at least 1 each). */
  readonly eventsPerFile: number;
  readonly seed: number;
  /** The writer's version: bumped when what it writes changes, so trees written before are written again. */
  readonly writer: number;
}

/**
 * The shape of the 28-day tree of issue 11: two accounts, 19,880 delivery files (us-east-1 every five minutes,
 * eu-west-1 in 67 slots a day), about 390,000 events.
 */
/** 2: eventIDs are UUIDs, as CloudTrail's are (1 wrote `<account>-<counter>`). */
const WRITER = 2;

export const MONTH_TREE: TreeSpec = {
  name: 'month',
  accounts: 2,
  days: 28,
  regions: [
    { name: 'us-east-1', share: 1 },
    { name: 'eu-west-1', share: 67 / 288 },
  ],
  eventsPerFile: 20.5,
  seed: 11,
  writer: WRITER,
};

/** Ten million events: four busy accounts, two Regions delivering every five minutes, 28 days. */
export const TEN_MILLION_TREE: TreeSpec = {
  name: 'ten-million',
  accounts: 4,
  days: 28,
  regions: [
    { name: 'us-east-1', share: 1 },
    { name: 'eu-west-1', share: 1 },
  ],
  eventsPerFile: 157,
  seed: 29,
  writer: WRITER,
};

const FIRST_DAY = Date.UTC(2026, 0, 5);
const SLOT_MS = 5 * 60_000;

/** A small deterministic PRNG (mulberry32): the same spec always writes the same tree. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The accounts of a spec, 12 digits each, derived from its seed. */
export function treeAccounts(spec: TreeSpec): string[] {
  const next = rng(spec.seed);
  return Array.from({ length: spec.accounts }, () => String(100_000_000_000 + Math.floor(next() * 899_999_999_999)));
}

/** `digits` random lowercase hex digits. */
function hex(next: () => number, digits: number): string {
  return Math.floor(next() * 16 ** digits)
    .toString(16)
    .padStart(digits, '0');
}

const TOKEN = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Writes the delivery files of `accounts` (a subset of the spec's, so several processes can share the work):
 * real records with a fresh eventID, an eventTime in the five minutes before delivery, and the file's account
 * and Region. Returns the files and events written.
 */
export function writeTreeAccounts(
  dir: string,
  spec: TreeSpec,
  accounts: readonly string[],
  templates: readonly Record<string, unknown>[],
): { files: number; events: number } {
  // Each template as JSON text without the fields a copy changes, so a copy is one string concatenation.
  const bodies = templates.map((t) => {
    const { eventID: _id, eventTime: _t, recipientAccountId: _a, awsRegion: _r, ...rest } = t;
    const text = JSON.stringify(rest);
    return text.length > 2 ? `,${text.slice(1)}` : '}';
  });
  let files = 0;
  let events = 0;
  for (const account of accounts) {
    const next = rng(spec.seed * 7919 + Number(account.slice(-6)));
    for (let day = 0; day < spec.days; day++) {
      for (const region of spec.regions) {
        const dayStart = FIRST_DAY + day * 86_400_000;
        const folder = dayFolder(dir, account, region.name, day);
        mkdirSync(folder, { recursive: true });
        for (let slot = 0; slot < 288; slot++) {
          if (next() >= region.share) continue;
          const delivered = dayStart + slot * SLOT_MS + 3 * 60_000;
          const n = 1 + Math.floor(-Math.log(1 - next()) * (spec.eventsPerFile - 1));
          const records: string[] = new Array(n);
          for (let i = 0; i < n; i++) {
            const time = new Date(delivered - SLOT_MS + Math.floor(next() * SLOT_MS)).toISOString().slice(0, 19);
            // A version-4 UUID as CloudTrail writes them: random digits, the last twelve a counter so each is unique.
            const id = `${hex(next, 8)}-${hex(next, 4)}-4${hex(next, 3)}-a${hex(next, 3)}-${(events + i).toString(16).padStart(12, '0')}`;
            records[i] =
              `{"eventTime":"${time}Z","eventID":"${id}","recipientAccountId":"${account}","awsRegion":"${region.name}"` +
              bodies[Math.floor(next() * bodies.length)];
          }
          const stamp = new Date(delivered).toISOString().replace(/[-:]/g, '').slice(0, 13);
          let token = '';
          for (let k = 0; k < 16; k++) token += TOKEN[Math.floor(next() * TOKEN.length)];
          const name = `${account}_CloudTrail_${region.name}_${stamp}Z_${token}.json.gz`;
          writeFileSync(join(folder, name), gzipSync(`{"Records":[${records.join(',')}]}`));
          files++;
          events += n;
        }
      }
    }
  }
  return { files, events };
}

/** The folder of a tree's `day`-th day (from 0) for an account and Region: `AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>`. */
function dayFolder(dir: string, account: string, region: string, day: number): string {
  const date = new Date(FIRST_DAY + day * 86_400_000).toISOString().slice(0, 10);
  return join(dir, 'AWSLogs', account, 'CloudTrail', region, ...date.split('-'));
}

/** The folders of the first `days` days of a generated tree, every account and Region. */
export function firstDays(tree: GeneratedTree, spec: TreeSpec, days: number): string[] {
  const out: string[] = [];
  for (const account of treeAccounts(spec))
    for (const region of spec.regions)
      for (let day = 0; day < Math.min(days, spec.days); day++)
        out.push(dayFolder(tree.path, account, region.name, day));
  return out;
}

export interface GeneratedTree {
  readonly path: string;
  readonly files: number;
  readonly events: number;
}

/**
 * The tree of `spec` under `benchDir`, written once (by as many processes as there are cores, each taking some
 * accounts) and reused while its marker (`<name>.complete` beside the tree, so the tree holds only delivery files)
 * matches the spec.
 */
export async function ensureTree(benchDir: string, spec: TreeSpec, log: (s: string) => void): Promise<GeneratedTree> {
  const dir = join(benchDir, spec.name);
  const marker = `${dir}.complete`;
  // Trees generated before the marker moved out of them.
  if (existsSync(join(dir, '.complete'))) renameSync(join(dir, '.complete'), marker);
  if (existsSync(marker)) {
    const done = JSON.parse(readFileSync(marker, 'utf8')) as { spec: TreeSpec; files: number; events: number };
    if (JSON.stringify(done.spec) === JSON.stringify(spec))
      return { path: dir, files: done.files, events: done.events };
  }
  rmSync(marker, { force: true });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const accounts = treeAccounts(spec);
  const workers = Math.max(1, Math.min(accounts.length, availableParallelism()));
  log(
    `generating ${dir}: ${spec.accounts} accounts, ${spec.days} days, ~${spec.eventsPerFile} events per file (${workers} processes) …`,
  );
  const results = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const mine = accounts.filter((_a, i) => i % workers === w);
      return new Promise<{ files: number; events: number }>((resolveRun, reject) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', join(__dirname, 'tree-writer.ts'), dir, spec.name, ...mine],
          {
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        child.on('close', (code) =>
          code === 0
            ? resolveRun(JSON.parse(out) as { files: number; events: number })
            : reject(new Error(`tree writer exit ${code}`)),
        );
      });
    }),
  );
  const files = results.reduce((n, r) => n + r.files, 0);
  const events = results.reduce((n, r) => n + r.events, 0);
  writeFileSync(marker, JSON.stringify({ spec, files, events }));
  return { path: dir, files, events };
}
