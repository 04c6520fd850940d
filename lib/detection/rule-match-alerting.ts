import {
  Duration,
  aws_events as events,
  aws_events_targets as eventsTargets,
  type aws_sns as sns,
  type aws_sqs as sqs,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import {
  RULE_LEVELS,
  RULE_MATCH_DETAIL_TYPE,
  RULE_MATCH_SOURCE,
  type RuleLevel,
} from '../../schema/detection-contract';

/** Properties of {@link RuleMatchAlerting}. */
export interface RuleMatchAlertingProps {
  /** The bus rule matches are put on (the `trailsight` bus). */
  readonly bus: events.IEventBus;
  /** The alert topic. */
  readonly topic: sns.ITopic;
  /** Where the rule's target puts notifications it could not deliver. */
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * Rule matches at this Sigma level or above are sent to the topic.
   * @default 'high'
   */
  readonly minLevel?: RuleLevel;
}

/** The levels at `minLevel` or above, least severe first. */
export function levelsFrom(minLevel: RuleLevel): RuleLevel[] {
  return RULE_LEVELS.slice(RULE_LEVELS.indexOf(minLevel));
}

/**
 * Routes rule matches to the alert topic by severity: an EventBridge rule on the `trailsight` bus matching
 * `Trailsight Rule Match` events whose rule level is `minLevel` or above. Every match stays on the bus for
 * users' own rules (and, with findings enabled, Security Hub); this decides only what pages someone.
 */
export class RuleMatchAlerting extends Construct {
  /** The EventBridge rule: rule matches at `minLevel` or above → topic. */
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: RuleMatchAlertingProps) {
    super(scope, id);
    const levels = levelsFrom(props.minLevel ?? 'high');
    this.rule = new events.Rule(this, 'Rule', {
      description: `Trailsight: rule matches of level ${levels.join(', ')} to the alert topic`,
      eventBus: props.bus,
      eventPattern: {
        source: [RULE_MATCH_SOURCE],
        detailType: [RULE_MATCH_DETAIL_TYPE],
        detail: { rule: { level: levels } },
      },
      targets: [
        new eventsTargets.SnsTopic(props.topic, {
          deadLetterQueue: props.deadLetterQueue,
          retryAttempts: 20,
          maxEventAge: Duration.hours(6),
          message: events.RuleTargetInput.fromText(
            `Trailsight rule match [${events.EventField.fromPath('$.detail.rule.level')}] ${events.EventField.fromPath('$.detail.rule.title')}: ${events.EventField.fromPath('$.detail.explanation')} (id ${events.EventField.fromPath('$.detail.id')})`,
          ),
        }),
      ],
    });
  }
}
