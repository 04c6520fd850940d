-- @title Activity of one principal
-- @description Every call made by a principal in a time window, oldest first. The principal is matched as a
-- @description substring of its ARN, principal id, access key id or user name, so a role name, a session name,
-- @description a user name or an access key all work.
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @param principal string  ARN, role or user name, session name or access key id (substring)
-- @returns eventtime, principal, eventsource, eventname, sourceipaddress, useragent, errorcode, account, awsregion, eventid
SELECT eventtime,
       COALESCE(useridentity.arn, useridentity.invokedby, useridentity.principalid, useridentity.type) AS principal,
       eventsource,
       eventname,
       sourceipaddress,
       useragent,
       errorcode,
       account,
       awsregion,
       eventid
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND (strpos(COALESCE(useridentity.arn, ''), '{{principal}}') > 0
       OR strpos(COALESCE(useridentity.principalid, ''), '{{principal}}') > 0
       OR strpos(COALESCE(useridentity.username, ''), '{{principal}}') > 0
       OR useridentity.accesskeyid = '{{principal}}')
ORDER BY eventtime, eventid
