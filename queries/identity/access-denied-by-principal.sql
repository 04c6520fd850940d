-- @title Unauthorized and AccessDenied calls by principal
-- @description Refused calls grouped by principal: errorCode AccessDenied*, *UnauthorizedOperation (the CIS 4.1
-- @description filter) plus Client.InvalidPermission.NotFound and Client.OperationNotPermitted (AWS Security Lake's
-- @description list). Many distinct refused APIs from one principal is reconnaissance with stolen credentials.
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @param min_denied integer = 1  Only principals with at least this many refused calls
-- @returns account, principal, principal_type, denied_calls, distinct_apis, apis, error_codes, source_ips, first_denied, last_denied
SELECT account,
       COALESCE(useridentity.arn, useridentity.invokedby, useridentity.principalid, useridentity.type) AS principal,
       useridentity.type AS principal_type,
       count(*) AS denied_calls,
       count(DISTINCT eventname) AS distinct_apis,
       array_join(array_sort(array_agg(DISTINCT eventname)), ', ') AS apis,
       array_join(array_sort(array_agg(DISTINCT errorcode)), ', ') AS error_codes,
       array_join(array_sort(array_agg(DISTINCT sourceipaddress)), ', ') AS source_ips,
       min(eventtime) AS first_denied,
       max(eventtime) AS last_denied
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND (errorcode LIKE 'AccessDenied%'
       OR errorcode LIKE '%UnauthorizedOperation'
       OR errorcode IN ('Client.InvalidPermission.NotFound', 'Client.OperationNotPermitted'))
GROUP BY 1, 2, 3
HAVING count(*) >= CAST('{{min_denied}}' AS integer)
ORDER BY denied_calls DESC, account, principal
