-- @title CIS 4.13 — Route table changes
-- @description Route and route table creation, replacement, deletion and disassociation (CIS 4.13 / CloudWatch.13).
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @returns eventtime, account, awsregion, eventsource, eventname, principal, principal_type, sourceipaddress, useragent, errorcode, route_table, eventid
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
       json_extract_scalar(requestparameters, '$.routeTableId') AS route_table,
       eventid
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND eventname IN ('CreateRoute', 'CreateRouteTable', 'ReplaceRoute', 'ReplaceRouteTableAssociation', 'DeleteRouteTable', 'DeleteRoute', 'DisassociateRouteTable')
ORDER BY eventtime, eventid
