/**
 * The `Trailsight Integrity` event: one per verification run (a delivered digest, or a sweep), on the `trailsight`
 * bus. Rules match `detail.status` ("FAIL"), `detail.kinds` (the finding kinds present) or `detail.trigger`.
 */
import type { FindingKind, IntegrityReport } from '../core/digest';

/** Findings carried in one event; the rest are counted (PutEvents entries are limited to 256 KB). */
export const MAX_FINDINGS_PER_EVENT = 100;

export interface IntegrityEventDetail {
  readonly version: '1';
  /** What ran: a digest just delivered, or the scheduled sweep. */
  readonly trigger: 'digest-delivered' | 'sweep';
  readonly bucket: string;
  /** The digest verified (trigger `digest-delivered`). */
  readonly digest?: string;
  /** The delivery window checked (trigger `sweep`), ISO times. */
  readonly window?: { readonly from: string; readonly to: string };
  readonly status: IntegrityReport['status'];
  /** The distinct finding kinds, for rules. */
  readonly kinds: FindingKind[];
  readonly counts: IntegrityReport['counts'];
  readonly chains: IntegrityReport['chains'];
  readonly findings: IntegrityReport['findings'];
  /** Findings left out of this event (see MAX_FINDINGS_PER_EVENT); the logs have them all. */
  readonly findingsOmitted: number;
}

export function integrityEventDetail(
  report: IntegrityReport,
  context: Pick<IntegrityEventDetail, 'trigger' | 'bucket' | 'digest' | 'window'>,
): IntegrityEventDetail {
  const errorsFirst = [...report.findings].sort((a, b) =>
    a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1,
  );
  return {
    version: '1',
    ...context,
    status: report.status,
    kinds: [...new Set(report.findings.map((f) => f.kind))].sort(),
    counts: report.counts,
    chains: report.chains.slice(0, 50),
    findings: errorsFirst.slice(0, MAX_FINDINGS_PER_EVENT),
    findingsOmitted: Math.max(0, report.findings.length - MAX_FINDINGS_PER_EVENT),
  };
}
