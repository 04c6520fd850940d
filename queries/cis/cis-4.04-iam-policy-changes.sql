-- @title CIS 4.4 — IAM policy changes
-- @description Creation, deletion, versioning, attachment and detachment of IAM policies (the 16 event names of the
-- @description CIS 4.4 / CloudWatch.4 filter).
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @returns eventtime, account, awsregion, eventsource, eventname, principal, principal_type, sourceipaddress, useragent, errorcode, policy, target, eventid
-- @note Like the CIS filter, the event names are not tied to iam.amazonaws.com (Organizations also has CreatePolicy).
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
       COALESCE(json_extract_scalar(requestparameters, '$.policyArn'), json_extract_scalar(requestparameters, '$.policyName')) AS policy,
       COALESCE(json_extract_scalar(requestparameters, '$.roleName'), json_extract_scalar(requestparameters, '$.userName'), json_extract_scalar(requestparameters, '$.groupName')) AS target,
       eventid
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND eventname IN ('DeleteGroupPolicy', 'DeleteRolePolicy', 'DeleteUserPolicy', 'PutGroupPolicy', 'PutRolePolicy', 'PutUserPolicy', 'CreatePolicy', 'DeletePolicy', 'CreatePolicyVersion', 'DeletePolicyVersion', 'AttachRolePolicy', 'DetachRolePolicy', 'AttachUserPolicy', 'DetachUserPolicy', 'AttachGroupPolicy', 'DetachGroupPolicy')
ORDER BY eventtime, eventid
