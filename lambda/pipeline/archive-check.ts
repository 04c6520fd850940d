/**
 * The delivery check: before a silence is reported as a delivery gap, the archive is asked whether log files
 * of the partition were delivered in it after all. Files that are in the archive but were never recorded
 * mean the pipeline itself is behind or failing (a backlog, files in the dead-letter queue): that is the
 * pipeline's alarm, never a "trail stopped" insight.
 */
import { fileIdentity } from '../core/detect';
import type { ArchiveScope } from '../core/detect/context';
import { classifyKey } from '../core/keys';
import type { KeyLister, PartitionStore } from './ports';

const DAY = 86_400_000;

/** The day folders (`yyyy/MM/dd/`) a delivery-time range (from, to] touches. */
export function dayFolders(from: number, to: number): string[] {
  const out: string[] = [];
  for (let day = Math.floor(from / DAY) * DAY; day <= to; day += DAY) {
    const d = new Date(day);
    out.push(
      `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/`,
    );
  }
  return out;
}

/**
 * How many files of the account under `prefix` (`…/CloudTrail/`) in the scope's Regions — log files, or digest
 * files under the `CloudTrail-Digest/` sibling — were delivered in (from, to] and have no recorded delta.
 */
export async function unrecordedFiles(
  key: string,
  prefix: string,
  from: number,
  to: number,
  scope: ArchiveScope,
  listing: { readonly lister: KeyLister; readonly bucket: string },
  store: PartitionStore,
): Promise<number> {
  const delivered: { deliveredAt: number; file: string }[] = [];
  const kind = scope.digests ? 'digest' : 'log';
  const base = scope.digests ? prefix.replace(/CloudTrail\/$/, 'CloudTrail-Digest/') : prefix;
  for (const region of scope.regions) {
    for (const folder of dayFolders(from, to)) {
      let startAfter: string | undefined;
      do {
        const page = await listing.lister.list({
          bucket: listing.bucket,
          prefix: `${base}${region}/${folder}`,
          startAfter,
        });
        for (const o of page.objects) {
          const info = classifyKey(o.key);
          if (info.kind !== kind || info.deliveredAt === undefined) continue;
          if (info.deliveredAt > from && info.deliveredAt <= to)
            delivered.push({ deliveredAt: info.deliveredAt, file: fileIdentity(o.key) });
        }
        startAfter = page.next;
      } while (startAfter);
    }
  }
  if (delivered.length === 0) return 0;
  const recorded = new Set((await store.queryDeltas(key, from, to)).map((d) => `${d.deliveredAt}|${d.file}`));
  return delivered.filter((f) => !recorded.has(`${f.deliveredAt}|${f.file}`)).length;
}
