-- @title Root account use
-- @description Every call made with the root user's credentials, successful or not, including console sign-ins and
-- @description password or MFA changes: userIdentity.type Root, not invoked by an AWS service, not an AwsServiceEvent
-- @description (the CIS 4.3 predicate), grouped per account, source IP and API so a day of root use reads at a glance.
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @returns account, sourceipaddress, eventsource, eventname, calls, errors, first_seen, last_seen, user_agents
-- @note Root uses an alias as userName when one is set; the account id is the reliable key.
SELECT account,
       sourceipaddress,
       eventsource,
       eventname,
       count(*) AS calls,
       count_if(errorcode IS NOT NULL) AS errors,
       min(eventtime) AS first_seen,
       max(eventtime) AS last_seen,
       array_join(array_sort(array_agg(DISTINCT substr(COALESCE(useragent, ''), 1, 60))), ' | ') AS user_agents
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND useridentity.type = 'Root'
  AND useridentity.invokedby IS NULL
  AND COALESCE(eventtype, '') <> 'AwsServiceEvent'
GROUP BY account, sourceipaddress, eventsource, eventname
ORDER BY first_seen, account, sourceipaddress, eventname
