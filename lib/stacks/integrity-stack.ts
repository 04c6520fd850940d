import { Duration, aws_events as events, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { TRAILSIGHT_BUS_NAME } from '../../schema/evidence-contract';
import type { TrailsightConfig } from '../config';
import { archiveSource } from '../contracts';
import { IntegrityVerifier } from '../integrity/integrity-verifier';

/** Properties of an {@link IntegrityStack}. */
export interface IntegrityStackProps extends StackProps {
  /** The validated configuration. */
  readonly config: TrailsightConfig;
  /**
   * Define the `trailsight` bus here, because no detection stack does.
   * @default false - the bus exists (TrailsightDetection defines it)
   */
  readonly createBus?: boolean;
}

/**
 * Continuous digest-chain verification of the archive (docs/integrity.md): the digest verifier, the sweep, their
 * rule, schedule, dead-letter queue, alarms and topic.
 *
 * Deployed in the log archive account and the home Region, next to the bucket whose digest deliveries it consumes,
 * apart from the detection pipeline. Stateless: safe to destroy and redeploy.
 */
export class IntegrityStack extends Stack {
  readonly verifier: IntegrityVerifier;
  /** The bus the results go to. */
  readonly bus: events.IEventBus;

  constructor(scope: Construct, id: string, props: IntegrityStackProps) {
    super(scope, id, props);
    const { config } = props;
    const settings = config.integrity;
    const archive = archiveSource(config);
    this.bus = props.createBus
      ? new events.EventBus(this, 'Bus', { eventBusName: TRAILSIGHT_BUS_NAME })
      : events.EventBus.fromEventBusName(this, 'Bus', TRAILSIGHT_BUS_NAME);
    this.verifier = new IntegrityVerifier(this, 'Verifier', {
      // Trailsight's own archive, or an existing one (archive.existing): its bucket, read prefix and key.
      archiveBucketName: archive.bucketName,
      readPrefix: archive.readPrefix,
      archiveKey: archive.key,
      bus: this.bus,
      sweepInterval: Duration.minutes(settings.sweepMinutes),
      lookback: Duration.hours(settings.lookbackHours),
      overdueAfter: Duration.minutes(settings.overdueMinutes),
      alarmEmails: settings.alarmEmails ?? config.detection.alarmEmails,
      logRetention: config.detection.logRetentionDays,
    });
  }
}
