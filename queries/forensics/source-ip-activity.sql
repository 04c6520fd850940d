-- @title Activity from one source IP
-- @description Every call from a source IP address (or AWS service host name) in a time window, with the principal
-- @description that made it: shows which identities one attacker address used.
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @param ip string  Source IP address or service host name, matched exactly
-- @returns eventtime, principal, principal_type, eventsource, eventname, useragent, errorcode, account, awsregion, eventid
SELECT eventtime,
       COALESCE(useridentity.arn, useridentity.invokedby, useridentity.accountid, useridentity.type) AS principal,
       useridentity.type AS principal_type,
       eventsource,
       eventname,
       useragent,
       errorcode,
       account,
       awsregion,
       eventid
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND sourceipaddress = '{{ip}}'
ORDER BY eventtime, eventid
