import { Duration, aws_events as events, type aws_logs as logs, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { TrailsightConfig } from '../config';
import { SecurityHubFindings } from '../findings/security-hub-findings';
import { INSIGHT_BUS_NAME } from './detection-stack';

/** Properties of a {@link FindingsStack}. */
export interface FindingsStackProps extends StackProps {
  /** The validated configuration (its `findings` section). */
  readonly config: TrailsightConfig;
}

/**
 * Findings where the SOC already looks: AWS Security Hub CSPM (when `findings.securityHub` is set).
 *
 * Deployed in the account and Region of the detection pipeline, whose `trailsight` bus it reads by name (no
 * cross-stack reference): the pipeline's stacks and this one deploy and change independently. Stateless.
 */
export class FindingsStack extends Stack {
  /** The Security Hub path, when configured. */
  readonly securityHub?: SecurityHubFindings;

  constructor(scope: Construct, id: string, props: FindingsStackProps) {
    super(scope, id, props);
    const settings = props.config.findings.securityHub;
    if (settings) {
      this.securityHub = new SecurityHubFindings(this, 'SecurityHub', {
        bus: events.EventBus.fromEventBusName(this, 'InsightBus', INSIGHT_BUS_NAME),
        batchSize: settings.batchSize,
        maxBatchingWindow:
          settings.maxBatchingWindowSeconds > 0 ? Duration.seconds(settings.maxBatchingWindowSeconds) : undefined,
        maxReceiveCount: settings.maxReceiveCount,
        logRetention: settings.logRetentionDays as logs.RetentionDays,
        alarmEmails: settings.alarmEmails,
        resolveWorkflowOnEnd: settings.resolveWorkflowOnEnd,
      });
    }
  }
}
