-- @title Failed console logins by source IP
-- @description ConsoleLogin failures counted per source IP: password spraying shows as one IP trying many users.
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @param min_failures integer = 1  Only IPs with at least this many failures
-- @returns sourceipaddress, failures, distinct_users, usernames, accounts, first_failure, last_failure
SELECT sourceipaddress,
       count(*) AS failures,
       count(DISTINCT COALESCE(useridentity.username, useridentity.arn, useridentity.principalid)) AS distinct_users,
       array_join(array_sort(array_agg(DISTINCT COALESCE(useridentity.username, useridentity.arn, useridentity.principalid, useridentity.type))), ', ') AS usernames,
       array_join(array_sort(array_agg(DISTINCT account)), ', ') AS accounts,
       min(eventtime) AS first_failure,
       max(eventtime) AS last_failure
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND eventname = 'ConsoleLogin'
  AND (errormessage = 'Failed authentication' OR json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Failure')
GROUP BY sourceipaddress
HAVING count(*) >= CAST('{{min_failures}}' AS integer)
ORDER BY failures DESC, sourceipaddress
