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
