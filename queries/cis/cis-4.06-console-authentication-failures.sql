-- @title CIS 4.6 — Console authentication failures
-- @description ConsoleLogin events with errorMessage 'Failed authentication' (CIS 4.6 / CloudWatch.6).
-- @description `console-login-failures-by-user` and `-by-ip` aggregate the same events.
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @returns eventtime, account, awsregion, eventsource, eventname, principal, principal_type, sourceipaddress, useragent, errorcode, username, eventid
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
       useridentity.username AS username,
       eventid
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND eventname = 'ConsoleLogin'
  AND errormessage = 'Failed authentication'
ORDER BY eventtime, eventid
