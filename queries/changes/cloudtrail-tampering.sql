-- @title CloudTrail tampering
-- @description Calls that stop, delete or blind the audit trail: StopLogging, DeleteTrail, UpdateTrail,
-- @description PutEventSelectors and PutInsightSelectors, CloudTrail Lake store deletion or ingestion stop, and,
-- @description when `archive_bucket` is given, changes to the log archive bucket's policy, ACL, lifecycle,
-- @description versioning, encryption, Object Lock or public access block, and its deletion.
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @param archive_bucket string = ""  Name of the CloudTrail archive bucket (empty: bucket changes are not reported)
-- @returns eventtime, technique, eventname, target, principal, principal_type, sourceipaddress, useragent, errorcode, account, awsregion, eventid
-- @note PutEventSelectors is reported whatever the new selectors are: excluding management events
-- @note (IncludeManagementEvents false, or ReadWriteType narrowed) and narrowing them are both evasion.
SELECT eventtime,
       CASE
         WHEN eventname = 'StopLogging' THEN 'logging stopped'
         WHEN eventname = 'DeleteTrail' THEN 'trail deleted'
         WHEN eventname = 'UpdateTrail' THEN 'trail updated'
         WHEN eventname IN ('PutEventSelectors', 'PutInsightSelectors') THEN 'selectors changed'
         WHEN eventsource = 'cloudtrail.amazonaws.com' THEN 'lake store disabled'
         ELSE 'archive bucket changed'
       END AS technique,
       eventname,
       COALESCE(json_extract_scalar(requestparameters, '$.name'),
                json_extract_scalar(requestparameters, '$.trailName'),
                json_extract_scalar(requestparameters, '$.eventDataStore'),
                json_extract_scalar(requestparameters, '$.bucketName')) AS target,
       COALESCE(useridentity.arn, useridentity.invokedby, useridentity.type) AS principal,
       useridentity.type AS principal_type,
       sourceipaddress,
       useragent,
       errorcode,
       account,
       awsregion,
       eventid
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND ((eventsource = 'cloudtrail.amazonaws.com'
        AND eventname IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors', 'PutInsightSelectors',
                          'DeleteEventDataStore', 'StopEventDataStoreIngestion'))
       OR ('{{archive_bucket}}' <> ''
           AND eventsource = 's3.amazonaws.com'
           AND json_extract_scalar(requestparameters, '$.bucketName') = '{{archive_bucket}}'
           AND eventname IN ('PutBucketPolicy', 'DeleteBucketPolicy', 'PutBucketAcl', 'PutBucketLifecycle',
                             'PutBucketLifecycleConfiguration', 'DeleteBucketLifecycle', 'PutBucketVersioning',
                             'PutBucketEncryption', 'DeleteBucketEncryption', 'PutObjectLockConfiguration',
                             'PutBucketPublicAccessBlock', 'DeleteBucketPublicAccessBlock', 'DeleteBucket')))
ORDER BY eventtime, eventid
