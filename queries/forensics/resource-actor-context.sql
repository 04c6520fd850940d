-- @title What else the actor did around a resource change
-- @description For every write call that names the resource (as in `resource-history`), all calls of the same
-- @description principal (same ARN, or same access key for services and anonymous callers) within a window
-- @description around it: the reconnaissance before and the follow-up after a deletion or modification.
-- @param start timestamp = -7d  Start of the event-time window searched for changes (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window searched for changes (exclusive)
-- @param resource string  ARN, id or name of the resource (matched as a substring, case-sensitive)
-- @param window_minutes integer = 60  Minutes before and after each change to include (at most 1440)
-- @returns change_time, change_event, principal, eventtime, seconds_from_change, eventsource, eventname, sourceipaddress, errorcode, eventid
-- @note Context events are searched in the same dt range, which is one day wider than start/end on each side.
WITH changes AS (
  SELECT eventtime,
         eventname,
         eventid,
         COALESCE(useridentity.arn, useridentity.accesskeyid, useridentity.invokedby) AS principal
  FROM cloudtrail_logs
  WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
    AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
    AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
    AND (readonly = 'false'
         OR (readonly IS NULL AND NOT regexp_like(eventname, '^(Get|List|Describe|Head|Lookup|Search|BatchGet|Query|Scan|Select)')))
    AND (strpos(COALESCE(requestparameters, ''), '{{resource}}') > 0
         OR strpos(COALESCE(responseelements, ''), '{{resource}}') > 0
         OR strpos(COALESCE(json_format(CAST(resources AS JSON)), ''), '{{resource}}') > 0)
),
activity AS (
  SELECT eventtime,
         eventsource,
         eventname,
         sourceipaddress,
         errorcode,
         eventid,
         COALESCE(useridentity.arn, useridentity.accesskeyid, useridentity.invokedby) AS principal
  FROM cloudtrail_logs
  WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
)
SELECT c.eventtime AS change_time,
       c.eventname AS change_event,
       c.principal,
       a.eventtime,
       CAST(to_unixtime(from_iso8601_timestamp(a.eventtime)) - to_unixtime(from_iso8601_timestamp(c.eventtime)) AS bigint) AS seconds_from_change,
       a.eventsource,
       a.eventname,
       a.sourceipaddress,
       a.errorcode,
       a.eventid
FROM changes c
JOIN activity a
  ON a.principal = c.principal
 AND from_iso8601_timestamp(a.eventtime) BETWEEN from_iso8601_timestamp(c.eventtime) - INTERVAL '{{window_minutes}}' MINUTE
                                             AND from_iso8601_timestamp(c.eventtime) + INTERVAL '{{window_minutes}}' MINUTE
ORDER BY change_time, c.eventid, a.eventtime, a.eventid
