/**
 * Builds large, realistic CloudTrail delivery files for the benchmark from the real record shapes in
 * `../shared/data` (grycap, flaws2, Stratus Red Team): each output record is a real record with a fresh
 * eventID/requestID and a moving eventTime, so sizes, field mixes and compression ratios stay realistic.
 * Files go to `.bench/` (git-ignored) and are reused when present.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createGzip, gunzipSync } from 'node:zlib';

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
