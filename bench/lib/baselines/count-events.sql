-- @title Count events
-- @description Events in the window: the simplest question, for the benchmark (npm run bench, query section).
-- @param start timestamp = -7d  Start of the event-time window (inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @returns n
SELECT count(*) AS n
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
