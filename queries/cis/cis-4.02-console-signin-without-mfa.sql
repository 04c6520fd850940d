-- @title CIS 4.2 — Management console sign-in without MFA
-- @description Successful ConsoleLogin of an IAM user with additionalEventData.MFAUsed other than Yes: the exact
-- @description CIS 4.2 / Security Hub CloudWatch.3 filter. The `console-login-without-mfa` query is the broader
-- @description auditor version (root included, SSO/SAML excluded).
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @returns eventtime, account, awsregion, eventsource, eventname, principal, principal_type, sourceipaddress, useragent, errorcode, mfa_used, eventid
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
       json_extract_scalar(additionaleventdata, '$.MFAUsed') AS mfa_used,
       eventid
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND eventname = 'ConsoleLogin'
  AND useridentity.type = 'IAMUser'
  AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success'
  AND COALESCE(json_extract_scalar(additionaleventdata, '$.MFAUsed'), '') <> 'Yes'
ORDER BY eventtime, eventid
