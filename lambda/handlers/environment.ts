/**
 * The functions' configuration, read once from the environment the CDK stack sets, and the adapters built
 * from it. A missing variable or an invalid detector configuration fails the cold start with a message
 * naming it, instead of failing every file later.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { INSIGHT_BUCKET_ENV } from '../../schema/evidence-contract';
import { DynamoDbStateStore } from '../adapters/dynamodb-state-store';
import { EventBridgeInsightPublisher, type InsightSink } from '../adapters/eventbridge-publisher';
import { S3InsightArchive } from '../adapters/s3-insight-archive';
import { S3ObjectSource } from '../adapters/s3-objects';
import { type DetectConfig, type InsightEvent, resolveDetectConfig } from '../core/detect';
import type { IngestPorts } from '../pipeline/ingest';
import { tracer } from './powertools';

export interface PipelineEnvironment {
  readonly stateTableName: string;
  readonly eventBusName: string;
  readonly publishToDefaultBus: boolean;
  readonly archiveBucketName: string;
  /** Where insights are written: the insights bucket, outside the locked archive. @default - the archive bucket */
  readonly insightBucketName?: string;
  readonly insightPrefix: string;
  readonly dedupeWindowHours: number;
  readonly detectConfig: DetectConfig;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set; the DetectionStack sets it`);
  return value;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): PipelineEnvironment {
  const hours = Number(env.DEDUPE_WINDOW_HOURS ?? '72');
  if (!Number.isFinite(hours) || hours <= 0) {
    throw new Error(`DEDUPE_WINDOW_HOURS = ${env.DEDUPE_WINDOW_HOURS}: must be a positive number of hours`);
  }
  let detectConfig: DetectConfig;
  try {
    detectConfig = resolveDetectConfig(JSON.parse(env.DETECTOR_CONFIG ?? '{}'));
  } catch (error) {
    throw new Error(`DETECTOR_CONFIG (detection.detector in the configuration): ${(error as Error).message}`);
  }
  return {
    stateTableName: required(env, 'STATE_TABLE_NAME'),
    eventBusName: required(env, 'EVENT_BUS_NAME'),
    publishToDefaultBus: env.PUBLISH_TO_DEFAULT_BUS === 'true',
    archiveBucketName: required(env, 'ARCHIVE_BUCKET_NAME'),
    insightBucketName: env[INSIGHT_BUCKET_ENV] || undefined,
    insightPrefix: env.INSIGHT_PREFIX ?? 'trailsight/insights/',
    dedupeWindowHours: hours,
    detectConfig,
  };
}

/** The SDK clients the adapters use. */
export interface PipelineClients {
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly eventBridge: EventBridgeClient;
}

/** SDK clients traced by X-Ray (configured by the Lambda environment: Region, credentials). */
export function defaultClients(): PipelineClients {
  return {
    s3: tracer.captureAWSv3Client(new S3Client({})),
    dynamodb: tracer.captureAWSv3Client(new DynamoDBClient({})),
    eventBridge: tracer.captureAWSv3Client(new EventBridgeClient({})),
  };
}

/** The adapters of the pipeline. */
export function buildPorts(settings: PipelineEnvironment, clients: PipelineClients = defaultClients()): IngestPorts {
  const { s3, dynamodb, eventBridge } = clients;
  const publisherFor = (eventBusName: string): InsightSink =>
    new EventBridgeInsightPublisher(eventBridge, {
      eventBusName,
      timeOf: (detail) => new Date((detail as InsightEvent).eventTime),
    });
  const sinks = [publisherFor(settings.eventBusName)];
  if (settings.publishToDefaultBus) sinks.push(publisherFor('default'));
  return {
    store: new DynamoDbStateStore(dynamodb, { tableName: settings.stateTableName }),
    sinks,
    archive: new S3InsightArchive(s3, {
      bucket: settings.insightBucketName ?? settings.archiveBucketName,
      prefix: settings.insightPrefix,
    }),
    objects: new S3ObjectSource(s3),
    detectConfig: settings.detectConfig,
    dedupeWindowMs: settings.dedupeWindowHours * 3_600_000,
  };
}
