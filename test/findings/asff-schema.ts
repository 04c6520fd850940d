/**
 * A zod schema of the ASFF fields Trailsight writes, derived from the AWS documentation (none is published as
 * JSON Schema): required attributes and lengths from the AWS Security Hub User Guide, "AWS Security Finding
 * Format (ASFF)" → "Required top-level attributes" and "Optional top-level attributes"; enums and nested shapes
 * from the Security Hub API Reference (`AwsSecurityFinding`, `Severity`, `Resource`, `Action`,
 * `AwsApiCallAction`, `Remediation`, `Recommendation`, `FindingProviderFields`, `Workflow`); timestamps in
 * the ISO 8601 form the ASFF page requires. Objects are strict, so a misspelt attribute fails.
 */
import { z } from 'zod';

const timestamp = z.iso.datetime({ offset: true });
const nonEmpty = (max: number) => z.string().min(1).max(max);
const severityLabel = z.enum(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
// "namespace/category/classifier"; the namespaces the ASFF types taxonomy defines.
const findingType = z
  .string()
  .regex(
    /^(Software and Configuration Checks|TTPs|Effects|Unusual Behaviors|Sensitive Data Identifications)(\/[^/]+){0,2}$/,
  );
const severity = z.strictObject({ Label: severityLabel, Original: z.string().max(256).optional() });

export const asffFindingSchema = z.strictObject({
  SchemaVersion: z.literal('2018-10-08'),
  Id: nonEmpty(512),
  ProductArn: z.string().regex(/^arn:aws[a-z-]*:securityhub:[a-z0-9-]+:\d{12}:product\/[^/]+\/[^/]+$/),
  ProductName: nonEmpty(128).optional(),
  CompanyName: nonEmpty(128).optional(),
  GeneratorId: nonEmpty(512),
  AwsAccountId: z.string().regex(/^\d{12}$/),
  Region: nonEmpty(16).optional(),
  Types: z.array(findingType).min(1).max(50),
  FirstSeenAt: timestamp.optional(),
  LastSeenAt: timestamp.optional(),
  CreatedAt: timestamp,
  UpdatedAt: timestamp,
  Severity: severity,
  Title: nonEmpty(256),
  Description: nonEmpty(1024),
  Remediation: z
    .strictObject({ Recommendation: z.strictObject({ Text: nonEmpty(512), Url: z.url().optional() }) })
    .optional(),
  ProductFields: z
    .record(z.string().min(1).max(128), z.string().max(2048))
    .refine((m) => Object.keys(m).length <= 50, { error: 'at most 50 ProductFields' })
    .optional(),
  Resources: z
    .array(
      z.strictObject({
        Type: nonEmpty(256),
        Id: nonEmpty(512),
        Partition: z.enum(['aws', 'aws-cn', 'aws-us-gov']).optional(),
        Region: nonEmpty(16).optional(),
      }),
    )
    .min(1)
    .max(32),
  Action: z
    .strictObject({
      ActionType: z.enum(['NETWORK_CONNECTION', 'AWS_API_CALL', 'DNS_REQUEST', 'PORT_PROBE']),
      AwsApiCallAction: z.strictObject({
        Api: nonEmpty(128),
        ServiceName: nonEmpty(128),
        FirstSeen: timestamp,
        LastSeen: timestamp,
      }),
    })
    .optional(),
  FindingProviderFields: z
    .strictObject({ Severity: severity.optional(), Types: z.array(findingType).max(50).optional() })
    .optional(),
  RecordState: z.enum(['ACTIVE', 'ARCHIVED']).optional(),
  Workflow: z.strictObject({ Status: z.enum(['NEW', 'NOTIFIED', 'RESOLVED', 'SUPPRESSED']) }).optional(),
});
