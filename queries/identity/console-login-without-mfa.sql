-- @title Console sign-ins without MFA
-- @description Successful ConsoleLogin events of IAM users and root where additionalEventData.MFAUsed is not Yes.
-- @description Sign-ins through IAM Identity Center (AWSReservedSSO roles) and SAML federation (SamlProviderArn) are
-- @description excluded: their MFA happens at the identity provider, so MFAUsed=No there is not a finding.
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @returns eventtime, account, principal, principal_type, username, sourceipaddress, useragent, mfa_used, login_to, eventid
-- @note CIS 4.2 counts IAM users only; this auditor version adds root, which matters more.
-- @note MFAUsed is compared case-insensitively: AWS's own root sign-in example logs "YES".
SELECT eventtime,
       account,
       COALESCE(useridentity.arn, useridentity.principalid) AS principal,
       useridentity.type AS principal_type,
       useridentity.username AS username,
       sourceipaddress,
       useragent,
       json_extract_scalar(additionaleventdata, '$.MFAUsed') AS mfa_used,
       json_extract_scalar(additionaleventdata, '$.LoginTo') AS login_to,
       eventid
FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')
  AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('{{end}}')
  AND eventname = 'ConsoleLogin'
  AND useridentity.type IN ('IAMUser', 'Root')
  AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success'
  AND lower(COALESCE(json_extract_scalar(additionaleventdata, '$.MFAUsed'), '')) <> 'yes'
  AND json_extract_scalar(additionaleventdata, '$.SamlProviderArn') IS NULL
  AND strpos(COALESCE(useridentity.arn, ''), 'AWSReservedSSO') = 0
ORDER BY eventtime, eventid
