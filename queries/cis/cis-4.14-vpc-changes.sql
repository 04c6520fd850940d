-- @title CIS 4.14 — VPC changes
-- @description VPC creation, deletion, attribute changes, peering and ClassicLink changes (CIS 4.14 /
-- @description CloudWatch.14).
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @returns eventtime, account, awsregion, eventsource, eventname, principal, principal_type, sourceipaddress, useragent, errorcode, vpc, eventid
-- @note Row per matching event, oldest first; `dt` is widened by a day around start/end (delivery lag).
SELECT eventtime,
       account,
       awsregion,
       eventsource,
       eventname,
       COALESCE(useridentity.arn, useridentity.invokedby, useridentity.type) AS principal,
       useridentity.type AS principal_type,
       sourceipaddress,
       useragent,
       errorcode,
       COALESCE(json_extract_scalar(requestparameters, '$.vpcId'), json_extract_scalar(responseelements, '$.vpc.vpcId')) AS vpc,
       eventid
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND eventname IN ('CreateVpc', 'DeleteVpc', 'ModifyVpcAttribute', 'AcceptVpcPeeringConnection', 'CreateVpcPeeringConnection', 'DeleteVpcPeeringConnection', 'RejectVpcPeeringConnection', 'AttachClassicLinkVpc', 'DetachClassicLinkVpc', 'DisableVpcClassicLink', 'EnableVpcClassicLink')
ORDER BY eventtime, eventid
