-- @title APIs a principal called for the first time
-- @description For each principal, the APIs (eventSource + eventName) whose first call in [start, end) falls at or
-- @description after `since`: everything between start and since is the baseline. New APIs for an established
-- @description identity are how stolen credentials and new automation show up.
-- @param start timestamp = -30d  Start of the history (baseline begins here; ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the window (exclusive)
-- @param since timestamp = -1d  APIs first called at or after this time are reported
-- @param principal string = ""  Only principals whose ARN contains this (empty: all principals)
-- @returns principal, eventsource, eventname, first_seen, calls, first_source_ip, baseline_calls
WITH per_api AS (
  SELECT COALESCE(useridentity.arn, useridentity.invokedby, useridentity.type) AS principal,
         eventsource,
         eventname,
         min(eventtime) AS first_seen,
         count(*) AS calls,
         min_by(sourceipaddress, eventtime) AS first_source_ip
  FROM cloudtrail_logs
  WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
    AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
    AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
    AND ('{{principal}}' = '' OR strpos(COALESCE(useridentity.arn, useridentity.invokedby, ''), '{{principal}}') > 0)
  GROUP BY 1, 2, 3
),
baseline AS (
  SELECT principal, sum(calls) AS baseline_calls
  FROM per_api
  WHERE from_iso8601_timestamp(first_seen) < from_iso8601_timestamp('{{since}}')
  GROUP BY principal
)
SELECT p.principal,
       p.eventsource,
       p.eventname,
       p.first_seen,
       p.calls,
       p.first_source_ip,
       COALESCE(b.baseline_calls, 0) AS baseline_calls
FROM per_api p
LEFT JOIN baseline b ON b.principal = p.principal
WHERE from_iso8601_timestamp(p.first_seen) >= from_iso8601_timestamp('{{since}}')
ORDER BY p.first_seen, p.principal, p.eventsource, p.eventname
