/**
 * The functions' configuration, read once from the environment the detection stack sets (names in
 * schema/detection-contract.ts), and the adapters built from it. A missing variable or an invalid detector
 * configuration fails the cold start with a message naming it, instead of failing every file later.
 */

import { resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ENV, INSIGHT_DETAIL_TYPE, INSIGHT_SOURCE } from '../../schema/detection-contract';
import { DynamoDbStateStore } from '../adapters/dynamodb-state-store';
import { EventBridgeInsightPublisher } from '../adapters/eventbridge-publisher';
import { S3InsightArchive } from '../adapters/s3-insight-archive';
import { S3KeyLister } from '../adapters/s3-key-lister';
import { S3ObjectSource } from '../adapters/s3-objects';
import { SqsDeadLetters, SqsSegmentQueue } from '../adapters/sqs-queues';
import { type DetectConfig, type InsightEvent, resolveDetectConfig } from '../core/detect';
// The configuration module only: the rule engine itself is bundled with the ingest alone (ingest-rules.ts).
import { type RulesConfig, resolveRulesConfig } from '../core/rules/config';
import type { EvaluatePorts } from '../pipeline/evaluate';
import type { IngestPorts } from '../pipeline/ingest';
import type { InsightSink, SegmentQueue } from '../pipeline/ports';
import { tracer } from './powertools';

export interface PipelineEnvironment {
  readonly headsTableName: string;
  readonly dataTableName: string;
  readonly eventBusName: string;
  readonly publishToDefaultBus: boolean;
  readonly archiveBucketName: string;
  /**
   * The key prefix of the log files the functions may read (`AWSLogs/`, or an existing archive's): the backfill's
   * default and bound. @default 'AWSLogs/'
   */
  readonly archivePrefix?: string;
  /** Where insights are written: the insights bucket, outside the locked archive. */
  readonly insightBucketName: string;
  readonly insightPrefix: string;
  readonly dedupeRetentionDays: number;
  readonly detectConfig: DetectConfig;
  readonly evaluationQueueUrl?: string;
  readonly insightDeadLetterQueueUrl?: string;
  /** The rule configuration (the ingest only; relative folders resolved against the bundle). @default - no rules */
  readonly rules?: RulesConfig;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set; the DetectionStack sets it`);
  return value;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): PipelineEnvironment {
  const days = Number(env[ENV.dedupeRetentionDays] ?? '35');
  if (!Number.isFinite(days) || days <= 0) {
    throw new Error(`${ENV.dedupeRetentionDays} = ${env[ENV.dedupeRetentionDays]}: must be a positive number of days`);
  }
  let detectConfig: DetectConfig;
  try {
    detectConfig = resolveDetectConfig(JSON.parse(env[ENV.detectorConfig] ?? '{}'));
  } catch (error) {
    throw new Error(`${ENV.detectorConfig} (detection.detector in the configuration): ${(error as Error).message}`);
  }
  const archiveBucketName = required(env, ENV.archiveBucket);
  const archivePrefix = env[ENV.archivePrefix] || 'AWSLogs/';
  if (!archivePrefix.includes('AWSLogs/') || !archivePrefix.endsWith('/'))
    throw new Error(`${ENV.archivePrefix} = ${archivePrefix}: must contain "AWSLogs/" and end with "/"`);
  let rules: RulesConfig | undefined;
  const rulesJson = env[ENV.rulesConfig];
  if (rulesJson) {
    try {
      rules = resolveRulesConfig(JSON.parse(rulesJson));
    } catch (error) {
      throw new Error(`${ENV.rulesConfig} (detection.rules in the configuration): ${(error as Error).message}`);
    }
    // The stack copies the configured folders into the bundle and names them relative to it.
    rules = { ...rules, folders: rules.folders.map((f) => ({ ...f, path: resolve(__dirname, f.path) })) };
  }
  return {
    headsTableName: required(env, ENV.headsTable),
    dataTableName: required(env, ENV.dataTable),
    eventBusName: required(env, ENV.eventBus),
    publishToDefaultBus: env[ENV.publishToDefaultBus] === 'true',
    archiveBucketName,
    archivePrefix,
    insightBucketName: env[ENV.insightBucket] || archiveBucketName,
    insightPrefix: env[ENV.insightPrefix] ?? 'trailsight/insights/',
    dedupeRetentionDays: days,
    detectConfig,
    ...(env[ENV.evaluationQueueUrl] ? { evaluationQueueUrl: env[ENV.evaluationQueueUrl] } : {}),
    ...(env[ENV.insightDeadLetterQueueUrl] ? { insightDeadLetterQueueUrl: env[ENV.insightDeadLetterQueueUrl] } : {}),
    ...(rules ? { rules } : {}),
  };
}

/** The SDK clients the adapters use. */
export interface PipelineClients {
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly eventBridge: EventBridgeClient;
  readonly sqs: SQSClient;
}

/**
 * SDK clients traced by X-Ray (Region and credentials from the Lambda environment). DynamoDB requests time
 * out after 5 s, three attempts at most: the ingest's late margin (pipeline/ingest.ts) relies on a write
 * finishing within it.
 */
export function defaultClients(): PipelineClients {
  return {
    s3: tracer.captureAWSv3Client(new S3Client({})),
    dynamodb: tracer.captureAWSv3Client(
      new DynamoDBClient({ maxAttempts: 3, requestHandler: { requestTimeout: 5000 } }),
    ),
    eventBridge: tracer.captureAWSv3Client(new EventBridgeClient({})),
    sqs: tracer.captureAWSv3Client(new SQSClient({})),
  };
}

/** Every port of the pipeline (each function uses its part). */
export interface PipelinePorts extends IngestPorts, EvaluatePorts {
  readonly segments?: SegmentQueue;
  readonly settings: PipelineEnvironment;
}

export function buildPorts(settings: PipelineEnvironment, clients: PipelineClients = defaultClients()): PipelinePorts {
  const { s3, dynamodb, eventBridge, sqs } = clients;
  const publisherFor = (eventBusName: string): InsightSink =>
    new EventBridgeInsightPublisher(eventBridge, {
      eventBusName,
      source: INSIGHT_SOURCE,
      detailType: INSIGHT_DETAIL_TYPE,
      timeOf: (detail) => new Date((detail as InsightEvent).eventTime),
    });
  const sinks = [publisherFor(settings.eventBusName)];
  if (settings.publishToDefaultBus) sinks.push(publisherFor('default'));
  return {
    settings,
    store: new DynamoDbStateStore(dynamodb, {
      headsTableName: settings.headsTableName,
      dataTableName: settings.dataTableName,
    }),
    sinks,
    archive: new S3InsightArchive(s3, { bucket: settings.insightBucketName, prefix: settings.insightPrefix }),
    archiveListing: { lister: new S3KeyLister(s3), bucket: settings.archiveBucketName },
    objects: new S3ObjectSource(s3),
    detectConfig: settings.detectConfig,
    dedupeRetentionDays: settings.dedupeRetentionDays,
    now: Date.now,
    ...(settings.evaluationQueueUrl ? { segments: new SqsSegmentQueue(sqs, settings.evaluationQueueUrl) } : {}),
    ...(settings.insightDeadLetterQueueUrl
      ? { deadLetters: new SqsDeadLetters(sqs, settings.insightDeadLetterQueueUrl) }
      : {}),
  };
}
