-- @title Trailsight insights
-- @description The insights Trailsight emitted (and CloudTrail Insights records, same shape): when, which API or
-- @description error, Start or End, observed against the baseline, and Trailsight's detector, principal, score
-- @description and one-sentence explanation when present.
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @param state string = ""  Start or End (empty: both)
-- @returns eventtime, state, insight_type, eventsource, eventname, error_code, insight_average, baseline_average, detector, principal, score, explanation, account, awsregion, eventid
-- @table trailsight_insights
-- @note Reads the insights table of the detection pipeline (issue 5); the local engine builds it from Insights
-- @note records found under --logs (CloudTrail-Insight files, `trailsight detect --format jsonl` output).
SELECT eventtime,
       json_extract_scalar(insightdetails, '$.state') AS state,
       json_extract_scalar(insightdetails, '$.insightType') AS insight_type,
       json_extract_scalar(insightdetails, '$.eventSource') AS eventsource,
       json_extract_scalar(insightdetails, '$.eventName') AS eventname,
       json_extract_scalar(insightdetails, '$.errorCode') AS error_code,
       json_extract_scalar(insightdetails, '$.insightContext.statistics.insight.average') AS insight_average,
       json_extract_scalar(insightdetails, '$.insightContext.statistics.baseline.average') AS baseline_average,
       json_extract_scalar(trailsight, '$.detector') AS detector,
       json_extract_scalar(trailsight, '$.principal') AS principal,
       json_extract_scalar(trailsight, '$.score') AS score,
       json_extract_scalar(trailsight, '$.explanation') AS explanation,
       account,
       awsregion,
       eventid
FROM trailsight_insights
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND ('{{state}}' = '' OR json_extract_scalar(insightdetails, '$.state') = '{{state}}')
ORDER BY eventtime, eventid
