/**
 * {@link Finding} → OCSF Detection Finding (class_uid 2004, category Findings), OCSF 1.6.0: the version AWS
 * Security Hub's OCSF findings use; Security Lake custom sources and OCSF-speaking SIEMs take the class as is.
 *
 * Mapping choices (attribute names from the OCSF 1.6.0 schema, ocsf/ocsf-schema tag 1.6.0):
 * - Start → `activity_id` 1 Create, `status_id` 1 New, `is_alert`; End → 3 Close, `status_id` 4 Resolved.
 * - `finding_info.uid` is the finding id (shared by Start and End), `metadata.uid` the event id (a redelivery
 *   repeats it), `finding_info.analytic` the detector (type Statistical) or the rule (type Rule), with the rule's
 *   ATT&CK techniques as `finding_info.attacks`.
 * - The `cloud` profile is applied: `cloud` (provider, Region, account) and `api` (the API the finding is about).
 * - Who and what: `evidences[0]` with `actor.user` (the principal) and `api`; `resources` the principal's IAM
 *   resource and the account.
 * - The baseline: `anomaly_analyses` (the observed count against the expected one over the window).
 * - The query to run next: `remediation.desc`; Trailsight's own fields: `unmapped`.
 */
import { evidenceCommand, type Finding, type FindingSeverity, PRODUCT_NAME } from './finding';

export const OCSF_VERSION = '1.6.0';
export const DETECTION_FINDING_CLASS_UID = 2004;
const FINDINGS_CATEGORY_UID = 2;

const SEVERITY_ID: Record<FindingSeverity, number> = {
  INFORMATIONAL: 1,
  LOW: 2,
  MEDIUM: 3,
  HIGH: 4,
  CRITICAL: 5,
};
const SEVERITY_NAME: Record<FindingSeverity, string> = {
  INFORMATIONAL: 'Informational',
  LOW: 'Low',
  MEDIUM: 'Medium',
  HIGH: 'High',
  CRITICAL: 'Critical',
};

/** An OCSF event as JSON (the schema test checks its shape against the class's JSON Schema). */
export type OcsfRecord = Record<string, unknown>;

/** Options of {@link toOcsf}. */
export interface OcsfOptions {
  /**
   * Version of the product that wrote the record (`metadata.product.version`).
   * @default - none
   */
  readonly productVersion?: string;
}

function userType(arn: string): { type_id: number; type: string } {
  // OCSF user.type_id: 1 User, 2 Admin, 3 System, 99 Other.
  if (/:root$/.test(arn)) return { type_id: 2, type: 'Admin' };
  if (/^arn:[^:]+:iam::\d{12}:user\//.test(arn)) return { type_id: 1, type: 'User' };
  return { type_id: 99, type: 'Other' };
}

function resourceType(arn: string): string {
  if (/:assumed-role\//.test(arn)) return 'AWS::STS::AssumedRoleSession';
  if (/:user\//.test(arn)) return 'AWS::IAM::User';
  if (/:role\//.test(arn)) return 'AWS::IAM::Role';
  if (/:root$/.test(arn)) return 'AWS::IAM::Root';
  return 'Other';
}

function analyticOf(f: Finding): Record<string, unknown> {
  // OCSF analytic.type_id: 1 Rule, 3 Statistical.
  if (f.analytic?.type === 'rule') return { uid: f.analytic.uid, name: f.analytic.name, type_id: 1, type: 'Rule' };
  return { uid: f.generatorId, name: f.generatorId.split('/').pop(), type_id: 3, type: 'Statistical' };
}

/** An ATT&CK technique id as OCSF's attack object: `T1098` a technique, `T1562.008` a sub-technique of T1562. */
function attackOf(uid: string): Record<string, unknown> {
  const [technique, sub] = uid.split('.');
  return sub ? { technique: { uid: technique }, sub_technique: { uid } } : { technique: { uid } };
}

/** The OCSF Detection Finding of one finding version. */
export function toOcsf(f: Finding, options: OcsfOptions = {}): OcsfRecord {
  const create = f.state === 'active';
  const activityId = create ? 1 : 3;
  const command = evidenceCommand(f.evidenceQuery);
  const partition = f.principal ? (/^arn:([^:]+):/.exec(f.principal.arn)?.[1] ?? 'aws') : 'aws';
  const evidence: Record<string, unknown> = {};
  if (f.principal) {
    evidence.actor = { user: { uid: f.principal.arn, name: f.principal.name, ...userType(f.principal.arn) } };
  }
  if (f.api) evidence.api = { operation: f.api.operation, service: { name: f.api.service } };
  evidence.data = { operations: f.operations, error_codes: f.errorCodes };
  const resources: Record<string, unknown>[] = [
    { uid: f.account, type: 'AWS::Account', region: f.region, cloud_partition: partition },
  ];
  if (f.principal) {
    resources.unshift({
      uid: f.principal.arn,
      name: f.principal.name,
      type: resourceType(f.principal.arn),
      region: f.region,
      cloud_partition: partition,
    });
  }
  const record: OcsfRecord = {
    activity_id: activityId,
    activity_name: create ? 'Create' : 'Close',
    category_uid: FINDINGS_CATEGORY_UID,
    category_name: 'Findings',
    class_uid: DETECTION_FINDING_CLASS_UID,
    class_name: 'Detection Finding',
    type_uid: DETECTION_FINDING_CLASS_UID * 100 + activityId,
    type_name: `Detection Finding: ${create ? 'Create' : 'Close'}`,
    severity_id: SEVERITY_ID[f.severity],
    severity: SEVERITY_NAME[f.severity],
    status_id: create ? 1 : 4,
    status: create ? 'New' : 'Resolved',
    is_alert: create,
    time: f.updatedAt,
    start_time: f.firstSeen,
    end_time: f.lastSeen,
    message: f.description,
    metadata: {
      version: OCSF_VERSION,
      profiles: ['cloud'],
      product: {
        name: PRODUCT_NAME,
        vendor_name: PRODUCT_NAME,
        ...(options.productVersion ? { version: options.productVersion } : {}),
      },
      uid: f.eventId,
      correlation_uid: f.id,
      event_code: f.generatorId,
    },
    finding_info: {
      uid: f.id,
      title: f.title,
      desc: f.description,
      types: [...f.types],
      created_time: f.firstSeen,
      first_seen_time: f.firstSeen,
      last_seen_time: f.lastSeen,
      modified_time: f.updatedAt,
      data_sources: ['AWS CloudTrail'],
      analytic: analyticOf(f),
      ...(f.attackTechniques && f.attackTechniques.length > 0
        ? { attacks: f.attackTechniques.map((uid) => attackOf(uid)) }
        : {}),
    },
    cloud: {
      provider: 'AWS',
      region: f.region,
      cloud_partition: partition,
      account: { uid: f.account, type_id: 10, type: 'AWS Account' },
    },
    ...(f.api ? { api: { operation: f.api.operation, service: { name: f.api.service } } } : {}),
    evidences: [evidence],
    resources,
    remediation: {
      desc: `Run the named query '${f.evidenceQuery.name}' with ${JSON.stringify(f.evidenceQuery.params)} (Athena workgroup, or locally: ${command}).`,
    },
    unmapped: { ...f.sourceFields, 'trailsight/evidenceQuery': f.evidenceQuery },
  };
  if (f.measure) {
    const m = f.measure;
    const timespan = {
      start_time: m.windowStart,
      end_time: m.windowStart + m.windowMinutes * 60_000,
      duration_mins: m.windowMinutes,
    };
    record.anomaly_analyses = [
      {
        analysis_targets: [
          f.principal
            ? { name: f.principal.arn, type: 'Principal' }
            : { name: f.api?.operation ?? f.account, type: 'API' },
        ],
        baselines: [
          {
            observation_parameter: m.what,
            observation_type: 'Frequency Analysis',
            observations: [{ value: String(m.expected), timespan }],
          },
        ],
        anomalies: [
          {
            observation_parameter: m.what,
            observation_type: 'Frequency Analysis',
            observed_pattern: `p = ${m.pValue.toExponential(2)} under the learned baseline`,
            observations: [{ value: String(m.observed), count: m.observed, timespan }],
          },
        ],
      },
    ];
  }
  return record;
}
