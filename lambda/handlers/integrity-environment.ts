/**
 * The integrity functions' configuration, read once from the environment TrailsightIntegrity sets (variable names
 * from schema/evidence-contract.ts), and the adapters built from it. The public-key cache lives at module scope, so
 * warm invocations reuse the keys already listed.
 */
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { INTEGRITY_DETAIL_TYPE, INTEGRITY_ENV, TRAILSIGHT_EVENT_SOURCE } from '../../schema/evidence-contract';
import { CloudTrailPublicKeys } from '../adapters/cloudtrail-public-keys';
import { EventBridgeInsightPublisher } from '../adapters/eventbridge-publisher';
import { S3ArchiveReader } from '../adapters/s3-archive-reader';
import type { ArchiveReader, PublicKeySource } from '../integrity/ports';
import type { InsightSink } from '../pipeline/ports';
import { tracer } from './powertools';

export interface IntegrityEnvironment {
  readonly archiveBucket: string;
  /** The key prefix the sweep verifies under. @default 'AWSLogs/' */
  readonly archivePrefix?: string;
  readonly eventBus: string;
  readonly lookbackHours: number;
  readonly overdueMinutes: number;
}

export function readIntegrityEnvironment(env: NodeJS.ProcessEnv = process.env): IntegrityEnvironment {
  const required = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`environment variable ${name} is not set; the TrailsightIntegrity stack sets it`);
    return value;
  };
  const positive = (name: string) => {
    const value = Number(required(name));
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} = ${env[name]}: must be a positive number`);
    return value;
  };
  return {
    archiveBucket: required(INTEGRITY_ENV.archiveBucket),
    archivePrefix: env[INTEGRITY_ENV.archivePrefix] || undefined,
    eventBus: required(INTEGRITY_ENV.eventBus),
    lookbackHours: positive(INTEGRITY_ENV.lookbackHours),
    overdueMinutes: positive(INTEGRITY_ENV.overdueMinutes),
  };
}

/** What the integrity handlers work with. */
export interface IntegrityPorts {
  readonly settings: IntegrityEnvironment;
  readonly reader: ArchiveReader;
  readonly keys: PublicKeySource;
  readonly publisher: InsightSink;
}

export function buildIntegrityPorts(settings: IntegrityEnvironment): IntegrityPorts {
  return {
    settings,
    reader: new S3ArchiveReader(tracer.captureAWSv3Client(new S3Client({})), settings.archiveBucket),
    keys: new CloudTrailPublicKeys({
      clientFor: (region) => tracer.captureAWSv3Client(new CloudTrailClient({ region })),
    }),
    publisher: new EventBridgeInsightPublisher(tracer.captureAWSv3Client(new EventBridgeClient({})), {
      eventBusName: settings.eventBus,
      source: TRAILSIGHT_EVENT_SOURCE,
      detailType: INTEGRITY_DETAIL_TYPE,
    }),
  };
}
