-- @title CIS 4.3 — Usage of the root account
-- @description Calls made by the root user itself (userIdentity.type Root, not invoked by an AWS service, not an
-- @description AwsServiceEvent): the CIS 4.3 / Security Hub CloudWatch.1 filter.
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @returns eventtime, account, awsregion, eventsource, eventname, principal, principal_type, sourceipaddress, useragent, errorcode, eventid
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
       eventid
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND useridentity.type = 'Root'
  AND useridentity.invokedby IS NULL
  AND COALESCE(eventtype, '') <> 'AwsServiceEvent'
ORDER BY eventtime, eventid
