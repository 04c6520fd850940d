-- @title KMS keys disabled or scheduled for deletion
-- @description DisableKey, ScheduleKeyDeletion and DeleteImportedKeyMaterial (data encrypted under the key becomes
-- @description unreadable), and DisableKeyRotation, with the key and the pending window. CancelKeyDeletion and
-- @description EnableKey are listed too, so the outcome of a scheduled deletion is visible in the same result.
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @returns eventtime, eventname, key_id, pending_window_days, deletion_date, principal, sourceipaddress, errorcode, account, awsregion, eventid
SELECT eventtime,
       eventname,
       COALESCE(json_extract_scalar(requestparameters, '$.keyId'), json_extract_scalar(responseelements, '$.keyId')) AS key_id,
       json_extract_scalar(requestparameters, '$.pendingWindowInDays') AS pending_window_days,
       json_extract_scalar(responseelements, '$.deletionDate') AS deletion_date,
       COALESCE(useridentity.arn, useridentity.invokedby, useridentity.type) AS principal,
       sourceipaddress,
       errorcode,
       account,
       awsregion,
       eventid
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND eventsource = 'kms.amazonaws.com'
  AND eventname IN ('DisableKey', 'ScheduleKeyDeletion', 'DeleteImportedKeyMaterial', 'DisableKeyRotation',
                    'CancelKeyDeletion', 'EnableKey')
ORDER BY eventtime, eventid
