-- @title Session chain behind an assumed role
-- @description Who assumed a role and from where (AssumeRole, AssumeRoleWithSAML, AssumeRoleWithWebIdentity),
-- @description which temporary access key each assumption issued, and where that key was then used: calls,
-- @description APIs and source IPs. A key used from an IP that is not the assumer's is stolen credentials.
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @param role string  Role ARN, role name, session name or issued access key id (matched as a substring)
-- @returns assumed_at, role_arn, session_name, assumed_by, assumed_by_type, assumed_from, access_key_id, calls, first_use, last_use, used_from, apis
-- @note Session chaining (a role session assuming another role) shows as assumed_by = the first session's ARN.
WITH assumptions AS (
  SELECT eventtime,
         json_extract_scalar(requestparameters, '$.roleArn') AS role_arn,
         json_extract_scalar(requestparameters, '$.roleSessionName') AS session_name,
         COALESCE(useridentity.arn, useridentity.invokedby, useridentity.principalid, useridentity.type) AS assumed_by,
         useridentity.type AS assumed_by_type,
         sourceipaddress AS assumed_from,
         json_extract_scalar(responseelements, '$.credentials.accessKeyId') AS access_key_id,
         json_extract_scalar(responseelements, '$.assumedRoleUser.arn') AS session_arn
  FROM cloudtrail_logs
  WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
    AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
    AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
    AND eventsource = 'sts.amazonaws.com'
    AND eventname IN ('AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity')
    AND errorcode IS NULL
),
uses AS (
  SELECT useridentity.accesskeyid AS access_key_id,
         eventtime,
         eventname,
         sourceipaddress
  FROM cloudtrail_logs
  WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
    AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
    AND useridentity.accesskeyid IS NOT NULL
)
SELECT a.eventtime AS assumed_at,
       a.role_arn,
       a.session_name,
       a.assumed_by,
       a.assumed_by_type,
       a.assumed_from,
       a.access_key_id,
       count(u.eventtime) AS calls,
       min(u.eventtime) AS first_use,
       max(u.eventtime) AS last_use,
       array_join(array_sort(array_agg(DISTINCT u.sourceipaddress) FILTER (WHERE u.sourceipaddress IS NOT NULL)), ', ') AS used_from,
       array_join(array_sort(array_agg(DISTINCT u.eventname) FILTER (WHERE u.eventname IS NOT NULL)), ', ') AS apis
FROM assumptions a
LEFT JOIN uses u ON u.access_key_id = a.access_key_id
WHERE strpos(COALESCE(a.role_arn, ''), '{{role}}') > 0
   OR strpos(COALESCE(a.session_name, ''), '{{role}}') > 0
   OR strpos(COALESCE(a.session_arn, ''), '{{role}}') > 0
   OR a.access_key_id = '{{role}}'
GROUP BY 1, 2, 3, 4, 5, 6, 7
ORDER BY assumed_at, access_key_id
