/**
 * Integrity sweep, invoked by EventBridge Scheduler with `{ "time": <scheduled time> }`: re-checks the last
 * `LOOKBACK_HOURS` of delivery in every account and Region of the archive — digests that never arrived (overdue
 * chains, gaps), digests or listed log files deleted since, log files no digest lists (planted) — without reading
 * log file content again (the digest verifier hashed it on arrival). The scheduled time, not the invocation time, is
 * "now", so a retried run checks the same window.
 */
import { parse } from '@aws-lambda-powertools/parser';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { IntegrityEventDetail } from '../integrity/event';
import { verifyWindow } from '../integrity/verify-archive';
import { buildIntegrityPorts, type IntegrityPorts, readIntegrityEnvironment } from './integrity-environment';
import { reportIntegrity } from './integrity-report';
import { logger } from './powertools';

const scheduledSchema = z.object({ time: z.iso.datetime({ offset: true }) });

const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

export function createSweepHandler(portsFactory: () => IntegrityPorts) {
  let ports: IntegrityPorts | undefined;
  return async (event: unknown, context: Context): Promise<IntegrityEventDetail> => {
    logger.addContext(context);
    ports ??= portsFactory();
    const now = Date.parse(parse(event, undefined, scheduledSchema).time);
    const from = now - ports.settings.lookbackHours * 3_600_000;
    const report = await verifyWindow(
      ports.reader,
      ports.keys,
      { from, to: now, prefix: ports.settings.archivePrefix },
      { hashLogs: false, overdue: { now, afterMs: ports.settings.overdueMinutes * 60_000 } },
    );
    return reportIntegrity(report, { trigger: 'sweep', window: { from: iso(from), to: iso(now) } }, ports);
  };
}

/** The Lambda entry point. */
export const handler = createSweepHandler(() => buildIntegrityPorts(readIntegrityEnvironment()));
