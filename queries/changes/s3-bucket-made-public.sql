-- @title S3 buckets made public
-- @description Bucket policies granting Principal "*" (or {"AWS":"*"}) without an organization condition, ACLs
-- @description granting AllUsers or AuthenticatedUsers, and public access blocks deleted or switched off at bucket
-- @description or account level. Successful calls only.
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @returns eventtime, exposure, eventname, bucket, principal, sourceipaddress, useragent, account, awsregion, eventid
-- @note A policy with Principal "*" and an aws:SourceIp or aws:SourceVpce condition is still reported: review it.
-- @note The policy is matched as text with regexp_like; both engines see the request as the same JSON text.
SELECT eventtime,
       CASE
         WHEN eventname = 'PutBucketPolicy' THEN 'policy grants Principal *'
         WHEN eventname = 'PutBucketAcl' THEN 'ACL grants AllUsers/AuthenticatedUsers'
         WHEN eventname IN ('DeleteBucketPublicAccessBlock', 'DeleteAccountPublicAccessBlock') THEN 'public access block deleted'
         ELSE 'public access block weakened'
       END AS exposure,
       eventname,
       json_extract_scalar(requestparameters, '$.bucketName') AS bucket,
       COALESCE(useridentity.arn, useridentity.invokedby, useridentity.type) AS principal,
       sourceipaddress,
       useragent,
       account,
       awsregion,
       eventid
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND errorcode IS NULL
  AND eventsource IN ('s3.amazonaws.com', 's3-control.amazonaws.com')
  AND ((eventname = 'PutBucketPolicy'
        AND regexp_like(requestparameters, '"Principal"\s*:\s*(\[\s*)?("\*"|\{\s*"AWS"\s*:\s*(\[\s*)?"\*")')
        AND NOT regexp_like(requestparameters, 'aws:(PrincipalOrgID|PrincipalOrgPaths|SourceOrgID)'))
       OR (eventname = 'PutBucketAcl'
           AND regexp_like(requestparameters, 'acs\.amazonaws\.com/groups/global/(AllUsers|AuthenticatedUsers)|x-amz-grant-[a-z-]+":\s*"[^"]*(AllUsers|AuthenticatedUsers)|"x-amz-acl"\s*:\s*\[?\s*"(public-read|public-read-write|authenticated-read)"'))
       OR eventname IN ('DeleteBucketPublicAccessBlock', 'DeleteAccountPublicAccessBlock')
       OR (eventname IN ('PutBucketPublicAccessBlock', 'PutAccountPublicAccessBlock')
           AND regexp_like(requestparameters, '"(BlockPublicAcls|IgnorePublicAcls|BlockPublicPolicy|RestrictPublicBuckets)"\s*:\s*false')))
ORDER BY eventtime, eventid
