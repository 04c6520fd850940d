/**
 * The one shape every Trailsight finding takes before it is written in a SOC's format (ASFF for Security Hub,
 * OCSF Detection Finding for Security Lake and OCSF SIEMs).
 *
 * Each kind of event on the `trailsight` bus has one mapper to this shape (insight.ts, rule-match.ts), and each
 * output format has one formatter from it: adding a finding kind is one more mapper,
 * adding a format is one more formatter, and neither knows about the other.
 */

/** Severity labels, shared by ASFF (`Severity.Label`) and OCSF (`severity_id` 1–5). */
export type FindingSeverity = 'INFORMATIONAL' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

/** The named query (queries/) an analyst runs next, with the parameter values that scope it to the finding. */
export interface EvidenceQuery {
  /** Query name in the catalog (`trailsight query <name>`, and the Athena named query of the same name). */
  readonly name: string;
  /** Parameter values, as `--param name=value`. */
  readonly params: Readonly<Record<string, string>>;
}

/** Who the finding is about. */
export interface FindingPrincipal {
  /** The principal as CloudTrail names it: an ARN (`arn:aws:sts::…:assumed-role/deploy/session`), or a service. */
  readonly arn: string;
  /** Short form for people: `user/alice`, `role/deploy`, `root`. */
  readonly name: string;
}

/** A measured count against what was expected, over a time window. */
export interface FindingMeasure {
  /** What is counted, in words: `calls of RunInstances (ec2.amazonaws.com)`. */
  readonly what: string;
  readonly observed: number;
  readonly expected: number;
  /** Width of the window the counts cover, minutes. */
  readonly windowMinutes: number;
  /** Start of the window (epoch ms). */
  readonly windowStart: number;
  /** Upper-tail probability of `observed` under the baseline. */
  readonly pValue: number;
}

export interface Finding {
  /** The kind of source event: the EventBridge `detail-type` it came as. */
  readonly sourceType: string;
  /** Stable across the finding's life: every update of one finding carries the same id. */
  readonly id: string;
  /** Id of the event this version of the finding comes from; a redelivery repeats it. */
  readonly eventId: string;
  /** What raised it, e.g. `trailsight/insight/iam-burst`. */
  readonly generatorId: string;
  /** One short line. */
  readonly title: string;
  /** What happened and what to check, in full sentences. */
  readonly description: string;
  readonly severity: FindingSeverity;
  /** Open (Start), or resolved because the activity it reports ended (End). */
  readonly state: 'active' | 'resolved';
  /** When the activity began (epoch ms): the same for every version of the finding. */
  readonly firstSeen: number;
  /** When the activity was last seen (epoch ms). */
  readonly lastSeen: number;
  /** When this version was produced (epoch ms): later versions have later times. */
  readonly updatedAt: number;
  /** Account and Region the activity happened in. */
  readonly account: string;
  readonly region: string;
  readonly principal?: FindingPrincipal;
  /** The API the finding is about, when there is one. */
  readonly api?: { readonly service: string; readonly operation: string };
  /** Every API involved, most frequent first. */
  readonly operations: readonly string[];
  readonly errorCodes: readonly string[];
  /**
   * Finding types in the ASFF taxonomy (`namespace/category/classifier`), most specific last; OCSF takes
   * them as `finding_info.types`.
   */
  readonly types: readonly string[];
  /** The statistic that raised it, when it came from a baseline. */
  readonly measure?: FindingMeasure;
  /**
   * What raised it, when it is one named analytic (OCSF `finding_info.analytic`).
   * @default - the statistical detector named by the generator id
   */
  readonly analytic?: { readonly uid: string; readonly name: string; readonly type: 'rule' | 'statistical' };
  /** MITRE ATT&CK technique ids (`T1562.008`), when the analytic names them. @default [] */
  readonly attackTechniques?: readonly string[];
  /** The query to run next. */
  readonly evidenceQuery: EvidenceQuery;
  /** The source event's own fields worth keeping flat (kept as ASFF `ProductFields`, OCSF `unmapped`). */
  readonly sourceFields: Readonly<Record<string, string>>;
}

/** The product name findings carry (ASFF `ProductName`, OCSF `metadata.product.name`). */
export const PRODUCT_NAME = 'Trailsight';

/** `trailsight query …` command line that runs an evidence query locally (shell-quoted). */
export function evidenceCommand(query: EvidenceQuery, logs = '<logs>'): string {
  const params = Object.entries(query.params).map(([k, v]) => `--param ${shellQuote(`${k}=${v}`)}`);
  return ['trailsight query', query.name, '--logs', logs, ...params].join(' ');
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
