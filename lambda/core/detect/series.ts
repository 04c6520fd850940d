/**
 * The count series the engine learns, as typed keys.
 *
 * A series is what one rate detector tests: the successful write calls of one API in one Region, one error
 * code of one API in one Region, or one principal's writes, failures, IAM writes, reads or denials across the
 * account's Regions (the evidence about a principal adds up wherever it acts). In memory and in storage a
 * series is identified by a compact string id (`<code>|<fields…>`), because ids are map keys in state that is
 * written on every compaction; code outside this module works with {@link SeriesKey} and never parses ids.
 */
import type { DetectorKind } from './config';

/** Successful write calls of one API in one Region (call-rate). */
export interface ApiCallsKey {
  readonly kind: 'api-calls';
  readonly region: string;
  readonly source: string;
  readonly name: string;
}

/** Calls of one API in one Region that failed with one error code (error-rate). */
export interface ApiErrorsKey {
  readonly kind: 'api-errors';
  readonly region: string;
  readonly source: string;
  readonly name: string;
  readonly code: string;
}

/** A per-principal series, over all the account's Regions: writes and failures (the caller check), IAM writes, reads, denials. */
export interface PrincipalKey {
  readonly kind: 'principal-writes' | 'principal-failures' | 'iam-writes' | 'reads' | 'denials';
  readonly principal: string;
}

export type SeriesKey = ApiCallsKey | ApiErrorsKey | PrincipalKey;
export type SeriesKind = SeriesKey['kind'];

/** Storage code of each kind (one character: ids are map keys in every stored page). */
const CODE: Record<SeriesKind, string> = {
  'api-calls': 'c',
  'api-errors': 'e',
  'principal-writes': 'w',
  'principal-failures': 'x',
  'iam-writes': 'i',
  reads: 'r',
  denials: 'd',
};
const KIND_OF_CODE: Record<string, SeriesKind> = Object.fromEntries(
  Object.entries(CODE).map(([kind, code]) => [code, kind as SeriesKind]),
);

/** The rate detector that tests a kind of series; the caller-check series are tested by none. */
export const DETECTOR_OF: Readonly<Record<SeriesKind, Exclude<DetectorKind, 'gap' | 'delivery-gap'> | undefined>> = {
  'api-calls': 'call-rate',
  'api-errors': 'error-rate',
  'principal-writes': undefined,
  'principal-failures': undefined,
  'iam-writes': 'iam-burst',
  reads: 'recon',
  denials: 'access-denied',
};

/** The string id of a series (a map key in state). */
export function seriesId(key: SeriesKey): string {
  switch (key.kind) {
    case 'api-calls':
      return `c|${key.region}|${key.source}|${key.name}`;
    case 'api-errors':
      return `e|${key.region}|${key.source}|${key.name}|${key.code}`;
    default:
      return `${CODE[key.kind]}|${key.principal}`;
  }
}

/** The key of a series id written by {@link seriesId}. */
export function parseSeriesId(id: string): SeriesKey {
  const kind = KIND_OF_CODE[id[0]];
  if (!kind || id[1] !== '|') throw new Error(`not a series id: ${id}`);
  const rest = id.slice(2);
  if (kind === 'api-calls' || kind === 'api-errors') {
    const [region, source, name, ...code] = rest.split('|');
    return kind === 'api-calls' ? { kind, region, source, name } : { kind, region, source, name, code: code.join('|') };
  }
  return { kind, principal: rest };
}

/** The kind of a series id, without parsing the rest. */
export function kindOf(id: string): SeriesKind {
  const kind = KIND_OF_CODE[id[0]];
  if (!kind) throw new Error(`not a series id: ${id}`);
  return kind;
}

/** Per-API series (call-rate, error-rate) as opposed to per-principal ones. */
export function isApiSeries(id: string): boolean {
  return id[0] === 'c' || id[0] === 'e';
}

/** Series whose windows learn which APIs a principal uses (first-seen logic of recon and access-denied). */
export function learnsApis(id: string): boolean {
  return id[0] === 'r' || id[0] === 'd';
}

/**
 * The storage group of a series: everything about one principal (its series, first-seen sets, jobs) or one
 * API (its call and error series) lives together, so one page read answers every question about it.
 */
export function groupOf(id: string): string {
  if (isApiSeries(id)) {
    const [, region, source, name] = id.split('|');
    return `a|${region}|${source}|${name}`;
  }
  return `p|${id.slice(2)}`;
}

/** The group of a principal (its series, jobs and last-seen time). */
export function principalGroup(principal: string): string {
  return `p|${principal}`;
}

/** The caller-check series of a per-API series' dominant principal: its writes (calls) or failures (errors). */
export function callerSeries(apiSeriesId: string, principal: string): string {
  return seriesId({ kind: apiSeriesId[0] === 'c' ? 'principal-writes' : 'principal-failures', principal });
}

/** A learned periodic job: one principal calling one API in one Region. Id: `<principal>|<region>|<source>|<name>`. */
export interface JobKey {
  readonly principal: string;
  readonly region: string;
  readonly source: string;
  readonly name: string;
}

export function jobId(key: JobKey): string {
  return `${key.principal}|${key.region}|${key.source}|${key.name}`;
}

/** Principals may contain `|` in pathological input: the Region, source and name are the last three fields. */
export function parseJobId(id: string): JobKey {
  const fields = id.split('|');
  const [region, source, name] = fields.slice(-3);
  return { principal: fields.slice(0, -3).join('|'), region, source, name };
}
