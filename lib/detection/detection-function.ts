import * as path from 'node:path';
import {
  type Duration,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  RemovalPolicy,
  Validations,
} from 'aws-cdk-lib';
import { type ICommandHooks, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../schema/detection-contract';

/** Properties of a {@link DetectionFunction}. */
export interface DetectionFunctionProps {
  /** Path of the handler file (TypeScript), bundled locally by esbuild. */
  readonly entry: string;
  /** What the function does, shown in the console. */
  readonly description: string;
  /** Memory, MB. */
  readonly memorySize: number;
  /** Timeout. */
  readonly timeout: Duration;
  /** Retention of the function's log group. */
  readonly logRetention: logs.RetentionDays;
  /** Environment variables (the function's configuration). */
  readonly environment: Record<string, string>;
  /**
   * Reserved concurrency.
   * @default - unreserved
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Powertools service name (logs, metrics, traces).
   * @default 'trailsight'
   */
  readonly serviceName?: string;
  /**
   * Files and folders copied into the bundle after esbuild ran, `target` relative to the handler (files the
   * function reads at run time, such as rule packs).
   * @default - none
   */
  readonly bundledFiles?: readonly { readonly source: string; readonly target: string }[];
  /**
   * Compile-time constants for esbuild (`define`), e.g. where a bundled folder is.
   * @default - none
   */
  readonly define?: Record<string, string>;
}

/** Powertools metrics namespace of every Trailsight function (the dashboard reads it; one definition). */
export { METRICS_NAMESPACE };

/**
 * The house-default Node.js function of the detection pipeline.
 *
 * Defaults, in one place: Node.js 24 on ARM64 (set explicitly: unit tests do not read cdk.json's feature
 * flags), X-Ray tracing active, an explicit log group with retention (not the legacy `logRetention` custom
 * resource), memory and timeout always given, esbuild bundling on the local machine (no Docker) with source
 * maps, and its own role whose only logging permission is writing to that log group (instead of the AWS
 * managed `AWSLambdaBasicExecutionRole`, which allows every log group in the account).
 */
export class DetectionFunction extends Construct {
  /** The function. */
  readonly function: NodejsFunction;
  /** Its log group. */
  readonly logGroup: logs.LogGroup;
  /** Its execution role. */
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: DetectionFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Trailsight ${id}: execution role`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      role: this.role,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? 'trailsight',
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.CJS,
        minify: true,
        sourceMap: true,
        target: 'node24',
        // The runtime ships the AWS SDK v3; bundling it would only grow the package.
        externalModules: ['@aws-sdk/*'],
        forceDockerBundling: false,
        ...(props.define ? { define: props.define } : {}),
        ...(props.bundledFiles && props.bundledFiles.length > 0 ? { commandHooks: copyInto(props.bundledFiles) } : {}),
      },
    });
    // X-Ray's PutTraceSegments/PutTelemetryRecords take no resource ARN.
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support only Resource "*".',
    });
  }
}

/**
 * Bundling hooks that copy files into the bundle with Node itself (no `cp`, so synth works on any OS). The
 * commands run on the machine that synthesizes, like the local esbuild bundling.
 */
function copyInto(files: readonly { readonly source: string; readonly target: string }[]): ICommandHooks {
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_inputDir, outputDir) =>
      files.map(
        ({ source, target }) =>
          `node -e "require('node:fs').cpSync(process.argv[1], process.argv[2], { recursive: true })" ${JSON.stringify(path.resolve(source))} ${JSON.stringify(path.join(outputDir, target))}`,
      ),
  };
}
