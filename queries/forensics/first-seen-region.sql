-- @title Regions a principal used for the first time
-- @description For each principal, the AWS Regions whose first call in [start, end) falls at or after `since`.
-- @description Attackers favour Regions nobody watches; a first call in a new Region is worth a look.
-- @param start timestamp = -30d  Start of the history (baseline begins here; ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the window (exclusive)
-- @param since timestamp = -1d  Regions first used at or after this time are reported
-- @param principal string = ""  Only principals whose ARN contains this (empty: all principals)
-- @returns principal, awsregion, first_seen, calls, apis, known_regions
-- @note Global services (IAM, STS global endpoint, sign-in) log in us-east-1 whatever Region the caller uses.
WITH per_region AS (
  SELECT COALESCE(useridentity.arn, useridentity.invokedby, useridentity.type) AS principal,
         awsregion,
         min(eventtime) AS first_seen,
         count(*) AS calls,
         array_join(array_sort(array_agg(DISTINCT eventname)), ', ') AS apis
  FROM cloudtrail_logs
  WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
    AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
    AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
    AND ('{{principal}}' = '' OR strpos(COALESCE(useridentity.arn, useridentity.invokedby, ''), '{{principal}}') > 0)
  GROUP BY 1, 2
),
known AS (
  SELECT principal, array_join(array_sort(array_agg(awsregion)), ', ') AS known_regions
  FROM per_region
  WHERE from_iso8601_timestamp(first_seen) < from_iso8601_timestamp('{{since}}')
  GROUP BY principal
)
SELECT r.principal,
       r.awsregion,
       r.first_seen,
       r.calls,
       r.apis,
       k.known_regions
FROM per_region r
LEFT JOIN known k ON k.principal = r.principal
WHERE from_iso8601_timestamp(r.first_seen) >= from_iso8601_timestamp('{{since}}')
ORDER BY r.first_seen, r.principal, r.awsregion
