import type { aws_cloudtrail as cloudtrail } from 'aws-cdk-lib';

type FieldSelector = cloudtrail.CfnTrail.AdvancedFieldSelectorProperty;
type EventSelector = cloudtrail.CfnTrail.AdvancedEventSelectorProperty;

/** What a trail records; the shape of the `managementEvents` and `dataEvents` configuration. */
export interface EventSelection {
  readonly managementEvents: {
    readonly readWrite: 'All' | 'ReadOnly' | 'WriteOnly' | 'None';
    readonly excludeSources: readonly string[];
  };
  readonly dataEvents: {
    readonly s3:
      | false
      | { readonly resources: 'all' | readonly string[]; readonly readWrite: 'All' | 'ReadOnly' | 'WriteOnly' };
    readonly lambda:
      | false
      | { readonly functions: 'all' | readonly string[]; readonly readWrite: 'All' | 'ReadOnly' | 'WriteOnly' };
  };
}

/**
 * Builds the trail's advanced event selectors (the L2 `Trail` has none, so they go on the L1 `CfnTrail`).
 *
 * One selector per category, at most three of the five a trail allows:
 * - management events, filtered by read/write and with the excluded sources as `eventSource` `NotEquals`;
 * - S3 object data events for every bucket (except the archive bucket itself, whose writes by CloudTrail would
 *   otherwise log themselves in a loop) or for the listed `bucket/prefix` ARNs;
 * - Lambda invoke data events for every function or the listed function ARNs.
 *
 * @param selection the management/data event configuration
 * @param archiveBucketArn ARN of the bucket the trail delivers to, excluded from "all buckets"
 */
export function advancedEventSelectors(selection: EventSelection, archiveBucketArn: string): EventSelector[] {
  const selectors: EventSelector[] = [];
  const { managementEvents, dataEvents } = selection;

  if (managementEvents.readWrite !== 'None') {
    const fields: FieldSelector[] = [
      { field: 'eventCategory', equalTo: ['Management'] },
      ...readOnlyField(managementEvents.readWrite),
    ];
    if (managementEvents.excludeSources.length > 0) {
      fields.push({ field: 'eventSource', notEquals: [...managementEvents.excludeSources] });
    }
    selectors.push({ name: 'Management events', fieldSelectors: fields });
  }

  if (dataEvents.s3) {
    const fields: FieldSelector[] = [
      { field: 'eventCategory', equalTo: ['Data'] },
      { field: 'resources.type', equalTo: ['AWS::S3::Object'] },
      ...readOnlyField(dataEvents.s3.readWrite),
    ];
    if (dataEvents.s3.resources === 'all') {
      fields.push({ field: 'resources.ARN', notStartsWith: [`${archiveBucketArn}/`] });
    } else {
      fields.push({ field: 'resources.ARN', startsWith: [...dataEvents.s3.resources] });
    }
    selectors.push({ name: 'S3 data events', fieldSelectors: fields });
  }

  if (dataEvents.lambda) {
    const fields: FieldSelector[] = [
      { field: 'eventCategory', equalTo: ['Data'] },
      { field: 'resources.type', equalTo: ['AWS::Lambda::Function'] },
      ...readOnlyField(dataEvents.lambda.readWrite),
    ];
    if (dataEvents.lambda.functions !== 'all') {
      fields.push({ field: 'resources.ARN', equalTo: [...dataEvents.lambda.functions] });
    }
    selectors.push({ name: 'Lambda data events', fieldSelectors: fields });
  }

  if (selectors.length === 0) {
    throw new Error(
      'advancedEventSelectors: management events are "None" and no data events are set; the trail would log nothing',
    );
  }
  return selectors;
}

function readOnlyField(readWrite: 'All' | 'ReadOnly' | 'WriteOnly'): FieldSelector[] {
  if (readWrite === 'All') return [];
  return [{ field: 'readOnly', equalTo: [readWrite === 'ReadOnly' ? 'true' : 'false'] }];
}
