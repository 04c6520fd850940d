-- @title Security group, NACL, route, VPC and gateway changes
-- @description The CIS 4.10 to 4.14 event names in one time line, each row labelled with the kind of network
-- @description change and the resource it touched: the question after an unexplained exposure is usually
-- @description "what changed in the network, and who did it".
-- @param start timestamp = -7d  Start of the event-time window (ISO-8601 UTC, inclusive)
-- @param end timestamp = now  End of the event-time window (exclusive)
-- @returns eventtime, change_kind, eventname, resource_id, principal, sourceipaddress, errorcode, account, awsregion, eventid
SELECT eventtime,
       CASE
         WHEN eventname LIKE '%SecurityGroup%' THEN 'security-group'
         WHEN eventname LIKE '%NetworkAcl%' THEN 'nacl'
         WHEN eventname LIKE '%Gateway%' THEN 'gateway'
         WHEN eventname LIKE '%Route%' THEN 'route'
         ELSE 'vpc'
       END AS change_kind,
       eventname,
       COALESCE(json_extract_scalar(requestparameters, '$.groupId'),
                json_extract_scalar(responseelements, '$.groupId'),
                json_extract_scalar(requestparameters, '$.networkAclId'),
                json_extract_scalar(requestparameters, '$.internetGatewayId'),
                json_extract_scalar(requestparameters, '$.customerGatewayId'),
                json_extract_scalar(requestparameters, '$.routeTableId'),
                json_extract_scalar(requestparameters, '$.vpcId'),
                json_extract_scalar(responseelements, '$.vpc.vpcId')) AS resource_id,
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
  AND eventsource = 'ec2.amazonaws.com'
  AND eventname IN ('AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress', 'RevokeSecurityGroupIngress',
                    'RevokeSecurityGroupEgress', 'CreateSecurityGroup', 'DeleteSecurityGroup',
                    'CreateNetworkAcl', 'CreateNetworkAclEntry', 'DeleteNetworkAcl', 'DeleteNetworkAclEntry',
                    'ReplaceNetworkAclEntry', 'ReplaceNetworkAclAssociation',
                    'CreateCustomerGateway', 'DeleteCustomerGateway', 'AttachInternetGateway', 'CreateInternetGateway',
                    'DeleteInternetGateway', 'DetachInternetGateway',
                    'CreateRoute', 'CreateRouteTable', 'ReplaceRoute', 'ReplaceRouteTableAssociation', 'DeleteRouteTable',
                    'DeleteRoute', 'DisassociateRouteTable',
                    'CreateVpc', 'DeleteVpc', 'ModifyVpcAttribute', 'AcceptVpcPeeringConnection', 'CreateVpcPeeringConnection',
                    'DeleteVpcPeeringConnection', 'RejectVpcPeeringConnection', 'AttachClassicLinkVpc',
                    'DetachClassicLinkVpc', 'DisableVpcClassicLink', 'EnableVpcClassicLink')
ORDER BY eventtime, eventid
