/**
 * {@link Finding} → AWS Security Finding Format (ASFF), the record `securityhub:BatchImportFindings` takes.
 *
 * Field rules followed (AWS Security Hub User Guide, "AWS Security Finding Format (ASFF)" and
 * "BatchImportFindings for finding providers"; API Reference `AwsSecurityFinding`):
 * - required: SchemaVersion, Id, ProductArn, GeneratorId, AwsAccountId, Types, CreatedAt, UpdatedAt, Severity,
 *   Title, Description, Resources;
 * - `AwsAccountId` must be the account that calls BatchImportFindings with its default product ARN, so it is
 *   the account of the product ARN; the account the activity happened in is an `AwsAccount` resource;
 * - one finding is one `Id` + `ProductArn`: a later `UpdatedAt` updates it. Start and End of an insight share
 *   the id, and the End (later) archives it (`RecordState: ARCHIVED`);
 * - providers set `Workflow` only when creating a finding (later imports cannot change it) and give Severity
 *   and Types in `FindingProviderFields` as well;
 * - lengths: Id and GeneratorId ≤ 512, Title ≤ 256, Description ≤ 1024, Recommendation.Text ≤ 512,
 *   ProductFields ≤ 50 pairs (key ≤ 128, value ≤ 2048), Resources ≤ 32, Types ≤ 50.
 */
import { evidenceCommand, type Finding, PRODUCT_NAME } from './finding';

/** ASFF schema version every finding declares (the only one there is). */
export const ASFF_SCHEMA_VERSION = '2018-10-08';

/** The subset of `AwsSecurityFinding` Trailsight writes (names and types as in the Security Hub API). */
export interface AsffFinding {
  SchemaVersion: string;
  Id: string;
  ProductArn: string;
  ProductName: string;
  CompanyName: string;
  GeneratorId: string;
  AwsAccountId: string;
  Region: string;
  Types: string[];
  FirstSeenAt: string;
  LastSeenAt: string;
  CreatedAt: string;
  UpdatedAt: string;
  Severity: { Label: AsffSeverityLabel; Original?: string };
  Title: string;
  Description: string;
  Remediation: { Recommendation: { Text: string } };
  ProductFields: Record<string, string>;
  Resources: AsffResource[];
  Action?: {
    ActionType: 'AWS_API_CALL';
    AwsApiCallAction: { Api: string; ServiceName: string; FirstSeen: string; LastSeen: string };
  };
  FindingProviderFields: { Severity: { Label: AsffSeverityLabel; Original?: string }; Types: string[] };
  RecordState: 'ACTIVE' | 'ARCHIVED';
  Workflow: { Status: 'NEW' | 'RESOLVED' };
}

export type AsffSeverityLabel = 'INFORMATIONAL' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

/** The partitions ASFF resources name (`Resource.Partition`). */
export type AsffPartition = 'aws' | 'aws-cn' | 'aws-us-gov';

export interface AsffResource {
  Type: string;
  Id: string;
  Partition: AsffPartition;
  Region: string;
}

export const ASFF_LIMITS = {
  id: 512,
  title: 256,
  description: 1024,
  recommendation: 512,
  productFields: 50,
  productFieldKey: 128,
  productFieldValue: 2048,
  resources: 32,
  types: 50,
} as const;

/** `arn:<partition>:securityhub:<region>:<account>:product/<account>/default`: an account's own product. */
const DEFAULT_PRODUCT_ARN =
  /^arn:(aws|aws-cn|aws-us-gov):securityhub:([a-z0-9-]+):(\d{12}):product\/(\d{12})\/default$/;

/** The partition of a Region (`cn-*`: aws-cn, `us-gov-*`: aws-us-gov, otherwise aws). */
export function partitionOf(region: string): AsffPartition {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** The account's default product ARN, which lets an account import findings about itself. */
export function defaultProductArn(partition: string, region: string, account: string): string {
  return `arn:${partition}:securityhub:${region}:${account}:product/${account}/default`;
}

/** Where findings go: the product ARN and what it implies. */
export interface AsffTarget {
  readonly productArn: string;
  readonly partition: AsffPartition;
  /** The importing account: `AwsAccountId` of every finding. */
  readonly account: string;
}

/** Reads a default product ARN; throws naming the expected form otherwise. */
export function asffTarget(productArn: string): AsffTarget {
  const m = DEFAULT_PRODUCT_ARN.exec(productArn);
  if (!m || m[3] !== m[4]) {
    throw new Error(
      `product ARN '${productArn}' is not an account's default product: expected arn:<partition>:securityhub:<region>:<account>:product/<account>/default`,
    );
  }
  return { productArn, partition: m[1] as AsffPartition, account: m[3] };
}

function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The IAM resource behind a CloudTrail principal ARN (an assumed-role session belongs to its role). */
function principalResource(arn: string, partition: AsffPartition, region: string): AsffResource | undefined {
  const m = /^arn:([^:]+):(iam|sts)::(\d{12}):(.+)$/.exec(arn);
  if (!m) return { Type: 'Other', Id: truncate(arn, ASFF_LIMITS.id), Partition: partition, Region: region };
  const [, , , account, rest] = m;
  if (rest === 'root') return undefined; // the account resource already names it
  if (rest.startsWith('user/')) return { Type: 'AwsIamUser', Id: arn, Partition: partition, Region: region };
  const assumed = /^assumed-role\/([^/]+)\//.exec(rest);
  if (assumed) {
    return {
      Type: 'AwsIamRole',
      Id: `arn:${partition}:iam::${account}:role/${assumed[1]}`,
      Partition: partition,
      Region: region,
    };
  }
  if (rest.startsWith('role/')) return { Type: 'AwsIamRole', Id: arn, Partition: partition, Region: region };
  return { Type: 'Other', Id: arn, Partition: partition, Region: region };
}

function productFields(f: Finding): Record<string, string> {
  const fields: Record<string, string> = {
    'trailsight/findingSource': f.sourceType,
    'trailsight/evidenceQuery': f.evidenceQuery.name,
    'trailsight/evidenceQuery/params': JSON.stringify(f.evidenceQuery.params),
  };
  for (const [k, v] of Object.entries(f.sourceFields)) fields[k] = v;
  const entries = Object.entries(fields).slice(0, ASFF_LIMITS.productFields);
  return Object.fromEntries(
    entries.map(([k, v]) => [truncate(k, ASFF_LIMITS.productFieldKey), truncate(v, ASFF_LIMITS.productFieldValue)]),
  );
}

/** The ASFF record of one finding version, imported with the given default product. */
export function toAsff(f: Finding, target: AsffTarget): AsffFinding {
  const resources: AsffResource[] = [
    { Type: 'AwsAccount', Id: `AWS::::Account:${f.account}`, Partition: target.partition, Region: f.region },
  ];
  const principal = f.principal && principalResource(f.principal.arn, target.partition, f.region);
  if (principal) resources.push(principal);
  const severity = {
    Label: f.severity,
    ...(f.measure ? { Original: `p=${f.measure.pValue.toExponential(2)}` } : {}),
  };
  const types = f.types.slice(0, ASFF_LIMITS.types);
  const command = evidenceCommand(f.evidenceQuery);
  return {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    Id: truncate(f.id, ASFF_LIMITS.id),
    ProductArn: target.productArn,
    ProductName: PRODUCT_NAME,
    CompanyName: PRODUCT_NAME,
    GeneratorId: truncate(f.generatorId, ASFF_LIMITS.id),
    AwsAccountId: target.account,
    Region: f.region,
    Types: [...types],
    FirstSeenAt: iso(f.firstSeen),
    LastSeenAt: iso(f.lastSeen),
    CreatedAt: iso(f.firstSeen),
    UpdatedAt: iso(f.updatedAt),
    Severity: severity,
    Title: truncate(f.title, ASFF_LIMITS.title),
    Description: truncate(f.description, ASFF_LIMITS.description),
    Remediation: {
      Recommendation: {
        Text: truncate(
          `Run the named query '${f.evidenceQuery.name}' (Athena workgroup, or locally: ${command}).`,
          ASFF_LIMITS.recommendation,
        ),
      },
    },
    ProductFields: productFields(f),
    Resources: resources.slice(0, ASFF_LIMITS.resources),
    ...(f.api
      ? {
          Action: {
            ActionType: 'AWS_API_CALL' as const,
            AwsApiCallAction: {
              Api: f.api.operation,
              ServiceName: f.api.service,
              FirstSeen: iso(f.firstSeen),
              LastSeen: iso(f.lastSeen),
            },
          },
        }
      : {}),
    FindingProviderFields: { Severity: severity, Types: [...types] },
    RecordState: f.state === 'active' ? 'ACTIVE' : 'ARCHIVED',
    Workflow: { Status: f.state === 'active' ? 'NEW' : 'RESOLVED' },
  };
}
