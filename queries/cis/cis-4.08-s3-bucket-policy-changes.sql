-- @title CIS 4.8 — S3 bucket policy changes
-- @description Changes to bucket ACLs, policies, CORS, lifecycle and replication (the nine event names of CIS 4.8 /
-- @description CloudWatch.8).
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @returns eventtime, account, awsregion, eventsource, eventname, principal, principal_type, sourceipaddress, useragent, errorcode, bucket, eventid
-- @note Row per matching event, oldest first; `dt` is widened by a day around start/end (delivery lag).
SELECT eventtime,
       account,
       awsregion,
       eventsource,
       eventname,
       COALESCE(useridentity.arn, useridentity.invokedby, useridentity.type) AS principal,
       useridentity.type AS principal_type,
       sourceipaddress,
       useragent,
       errorcode,
       json_extract_scalar(requestparameters, '$.bucketName') AS bucket,
       eventid
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND eventsource = 's3.amazonaws.com'
  AND eventname IN ('PutBucketAcl', 'PutBucketPolicy', 'PutBucketCors', 'PutBucketLifecycle', 'PutBucketReplication', 'DeleteBucketPolicy', 'DeleteBucketCors', 'DeleteBucketLifecycle', 'DeleteBucketReplication')
ORDER BY eventtime, eventid
