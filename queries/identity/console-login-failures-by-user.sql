-- @title Failed console logins by user
-- @description ConsoleLogin failures (errorMessage 'Failed authentication' or responseElements.ConsoleLogin 'Failure')
-- @description counted per user name: password guessing against one account. A user name of
-- @description HIDDEN_DUE_TO_SECURITY_REASONS means the name typed does not exist in the account.
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @param min_failures integer = 1  Only users with at least this many failures
-- @returns account, username, failures, distinct_ips, source_ips, first_failure, last_failure
SELECT account,
       COALESCE(useridentity.username, useridentity.arn, useridentity.principalid, useridentity.type) AS username,
       count(*) AS failures,
       count(DISTINCT sourceipaddress) AS distinct_ips,
       array_join(array_sort(array_agg(DISTINCT sourceipaddress)), ', ') AS source_ips,
       min(eventtime) AS first_failure,
       max(eventtime) AS last_failure
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND eventname = 'ConsoleLogin'
  AND (errormessage = 'Failed authentication' OR json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Failure')
GROUP BY 1, 2
HAVING count(*) >= CAST('{{min_failures}}' AS integer)
ORDER BY failures DESC, account, username
