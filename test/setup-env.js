// Runs before every test file. Unit tests never touch AWS: no credentials, no IMDS, quiet Powertools.
process.env.CDK_VALIDATION = process.env.CDK_VALIDATION ?? 'false';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.POWERTOOLS_DEV = 'true';
process.env.POWERTOOLS_LOG_LEVEL = process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT';
process.env.AWS_REGION = process.env.AWS_REGION ?? 'us-east-1';
