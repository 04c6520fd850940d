/**
 * The CloudTrail table's columns: one definition for both engines.
 *
 * The Glue table (lib/, Athena) and the local DuckDB view (lambda/, `trailsight query`) are both built
 * from this list, so a named query written against one runs unchanged on the other. The list is the
 * current column set of the AWS Athena guide's CloudTrail table ("Create the table for CloudTrail logs
 * in Athena using partition projection"), see ../shared/reference/cloudtrail.md §5.1.
 *
 * Pure data: this module may be imported from every room (lib/, lambda/, cli/, test/).
 */

/** A column as Glue wants it: a lower-case name and a Hive type string. */
export interface TableColumn {
  readonly name: string;
  readonly type: string;
}

const SESSION_ISSUER = 'struct<type:string,principalid:string,arn:string,accountid:string,username:string>';

export const CLOUDTRAIL_COLUMNS: readonly TableColumn[] = [
  { name: 'eventversion', type: 'string' },
  {
    name: 'useridentity',
    type:
      'struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,accesskeyid:string,' +
      'username:string,onbehalfof:struct<userid:string,identitystorearn:string>,' +
      'sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,' +
      `sessionissuer:${SESSION_ISSUER},ec2roledelivery:string,` +
      'webidfederationdata:struct<federatedprovider:string,attributes:map<string,string>>>>',
  },
  { name: 'eventtime', type: 'string' },
  { name: 'eventsource', type: 'string' },
  { name: 'eventname', type: 'string' },
  { name: 'awsregion', type: 'string' },
  { name: 'sourceipaddress', type: 'string' },
  { name: 'useragent', type: 'string' },
  { name: 'errorcode', type: 'string' },
  { name: 'errormessage', type: 'string' },
  { name: 'requestparameters', type: 'string' },
  { name: 'responseelements', type: 'string' },
  { name: 'additionaleventdata', type: 'string' },
  { name: 'requestid', type: 'string' },
  { name: 'eventid', type: 'string' },
  { name: 'readonly', type: 'string' },
  { name: 'resources', type: 'array<struct<arn:string,accountid:string,type:string>>' },
  { name: 'eventtype', type: 'string' },
  { name: 'apiversion', type: 'string' },
  { name: 'recipientaccountid', type: 'string' },
  { name: 'serviceeventdetails', type: 'string' },
  { name: 'sharedeventid', type: 'string' },
  { name: 'vpcendpointid', type: 'string' },
  { name: 'vpcendpointaccountid', type: 'string' },
  { name: 'eventcategory', type: 'string' },
  {
    name: 'addendum',
    type: 'struct<reason:string,updatedfields:string,originalrequestid:string,originaleventid:string>',
  },
  { name: 'sessioncredentialfromconsole', type: 'string' },
  { name: 'edgedevicedetails', type: 'string' },
  { name: 'tlsdetails', type: 'struct<tlsversion:string,ciphersuite:string,clientprovidedhostheader:string>' },
];

/**
 * How CloudTrail spells each column and struct field in its JSON records, by lower-case path (`useridentity`,
 * `useridentity.sessioncontext.sessionissuer.arn`, `resources.arn`). The Glue JsonSerDe matches keys
 * case-insensitively, DuckDB's `read_json` exactly: the local engine declares these spellings when it reads
 * delivery files itself and renames them to the Glue names. A test checks that every name in the column types
 * has a spelling here and that the spellings are the ones real records use.
 */
export const CLOUDTRAIL_JSON_KEYS: Readonly<Record<string, string>> = {
  eventversion: 'eventVersion',
  useridentity: 'userIdentity',
  'useridentity.type': 'type',
  'useridentity.principalid': 'principalId',
  'useridentity.arn': 'arn',
  'useridentity.accountid': 'accountId',
  'useridentity.invokedby': 'invokedBy',
  'useridentity.accesskeyid': 'accessKeyId',
  'useridentity.username': 'userName',
  'useridentity.onbehalfof': 'onBehalfOf',
  'useridentity.onbehalfof.userid': 'userId',
  'useridentity.onbehalfof.identitystorearn': 'identityStoreArn',
  'useridentity.sessioncontext': 'sessionContext',
  'useridentity.sessioncontext.attributes': 'attributes',
  'useridentity.sessioncontext.attributes.mfaauthenticated': 'mfaAuthenticated',
  'useridentity.sessioncontext.attributes.creationdate': 'creationDate',
  'useridentity.sessioncontext.sessionissuer': 'sessionIssuer',
  'useridentity.sessioncontext.sessionissuer.type': 'type',
  'useridentity.sessioncontext.sessionissuer.principalid': 'principalId',
  'useridentity.sessioncontext.sessionissuer.arn': 'arn',
  'useridentity.sessioncontext.sessionissuer.accountid': 'accountId',
  'useridentity.sessioncontext.sessionissuer.username': 'userName',
  'useridentity.sessioncontext.ec2roledelivery': 'ec2RoleDelivery',
  'useridentity.sessioncontext.webidfederationdata': 'webIdFederationData',
  'useridentity.sessioncontext.webidfederationdata.federatedprovider': 'federatedProvider',
  'useridentity.sessioncontext.webidfederationdata.attributes': 'attributes',
  eventtime: 'eventTime',
  eventsource: 'eventSource',
  eventname: 'eventName',
  awsregion: 'awsRegion',
  sourceipaddress: 'sourceIPAddress',
  useragent: 'userAgent',
  errorcode: 'errorCode',
  errormessage: 'errorMessage',
  requestparameters: 'requestParameters',
  responseelements: 'responseElements',
  additionaleventdata: 'additionalEventData',
  requestid: 'requestID',
  eventid: 'eventID',
  readonly: 'readOnly',
  resources: 'resources',
  'resources.arn': 'ARN',
  'resources.accountid': 'accountId',
  'resources.type': 'type',
  eventtype: 'eventType',
  apiversion: 'apiVersion',
  recipientaccountid: 'recipientAccountId',
  serviceeventdetails: 'serviceEventDetails',
  sharedeventid: 'sharedEventID',
  vpcendpointid: 'vpcEndpointId',
  vpcendpointaccountid: 'vpcEndpointAccountId',
  eventcategory: 'eventCategory',
  addendum: 'addendum',
  'addendum.reason': 'reason',
  'addendum.updatedfields': 'updatedFields',
  'addendum.originalrequestid': 'originalRequestID',
  'addendum.originaleventid': 'originalEventID',
  sessioncredentialfromconsole: 'sessionCredentialFromConsole',
  edgedevicedetails: 'edgeDeviceDetails',
  tlsdetails: 'tlsDetails',
  'tlsdetails.tlsversion': 'tlsVersion',
  'tlsdetails.ciphersuite': 'cipherSuite',
  'tlsdetails.clientprovidedhostheader': 'clientProvidedHostHeader',
};

/**
 * Partition columns, the same for account and organization trails so queries are portable:
 * `account` (12 digits), `region`, and `dt` (the UTC delivery date, `yyyy/MM/dd`, as in the S3 key).
 * `dt` is the delivery date, not the event date: filter on eventtime and widen dt by a day (§1.3).
 */
export const CLOUDTRAIL_PARTITION_KEYS: readonly TableColumn[] = [
  { name: 'account', type: 'string' },
  { name: 'region', type: 'string' },
  { name: 'dt', type: 'string' },
];

/** Name of the CloudTrail table in the Glue database and of the DuckDB view. */
export const CLOUDTRAIL_TABLE_NAME = 'cloudtrail_logs';

/**
 * The compacted copy of the CloudTrail table: the same columns as Parquet, partitioned Hive-style
 * (`account=<id>/region=<region>/dt=<yyyy-MM-dd>/`), written by Athena's scheduled `INSERT INTO … SELECT`
 * (lib/analytics/compaction.ts) and locally by `trailsight index`.
 *
 * `dt` holds the same delivery date as in `cloudtrail_logs`, written `yyyy-MM-dd`: a partition value with a `/`
 * would be escaped in the S3 key by the writer, and Athena (like Trino) only writes into a partition-projected
 * table whose dates have the Hive format. The query renderer writes `dt_from`/`dt_to` in each table's format, so
 * the same SQL runs on both tables (`queries/catalog.ts`).
 */
export const CLOUDTRAIL_PARQUET_TABLE_NAME = 'cloudtrail_parquet';

/** The `dt` format of each CloudTrail table, in Java date-pattern letters (what partition projection takes). */
export const DT_FORMATS = {
  [CLOUDTRAIL_TABLE_NAME]: 'yyyy/MM/dd',
  [CLOUDTRAIL_PARQUET_TABLE_NAME]: 'yyyy-MM-dd',
} as const;
