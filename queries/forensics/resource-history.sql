-- @title Who deleted, terminated or modified a resource
-- @description Every write call that names the resource, by ARN, id or name, anywhere in requestParameters,
-- @description responseElements or resources[], with the actor (ARN, session issuer, source IP, user agent) and
-- @description whether it was a deletion, a creation or another change. Failed attempts are kept (errorcode set).
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @param resource string  ARN, id or name of the resource (matched as a substring, case-sensitive)
-- @returns eventtime, action, eventsource, eventname, principal, principal_type, session_issuer, sourceipaddress, useragent, errorcode, account, awsregion, eventid
-- @note Writes are readOnly='false'; records older than eventVersion 1.01 lack readOnly, so the API name decides there.
-- @note The value is matched with strpos, not LIKE: '%' and '_' in a name are not wildcards.
SELECT eventtime,
       CASE
         WHEN regexp_like(eventname, '^(Delete|Terminate|Remove|Deregister|Disable|Detach|Disassociate|Revoke|Stop|Cancel)')
              OR eventname = 'ScheduleKeyDeletion' THEN 'delete'
         WHEN regexp_like(eventname, '^(Create|Run|Put|Register|Add|Import|Allocate|Copy|Upload|Start|Attach|Associate|Authorize)') THEN 'create'
         ELSE 'modify'
       END AS action,
       eventsource,
       eventname,
       COALESCE(useridentity.arn, useridentity.invokedby, useridentity.type) AS principal,
       useridentity.type AS principal_type,
       useridentity.sessioncontext.sessionissuer.arn AS session_issuer,
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
  AND (readonly = 'false'
       OR (readonly IS NULL AND NOT regexp_like(eventname, '^(Get|List|Describe|Head|Lookup|Search|BatchGet|Query|Scan|Select)')))
  AND (strpos(COALESCE(requestparameters, ''), '{{resource}}') > 0
       OR strpos(COALESCE(responseelements, ''), '{{resource}}') > 0
       OR strpos(COALESCE(json_format(CAST(resources AS JSON)), ''), '{{resource}}') > 0)
ORDER BY eventtime, eventid
