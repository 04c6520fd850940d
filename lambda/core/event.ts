/**
 * The normalized CloudTrail event: the one shape every consumer of the ingest core sees
 * (aggregation, detection, `trailsight summary|detect`, the Lambdas).
 *
 * Contract between the ingest core (issue 3) and the detection engine (issue 4): fields may be added,
 * existing ones are not renamed or re-typed without changing both sides.
 *
 * Compact on purpose: strings are the record's own (no copies), times are epoch milliseconds, and the
 * raw record is only kept when a caller asks for it (forensics), so detection never pays for it.
 */

/** How the principal was identified; drives how `principal` is folded. */
export type PrincipalKind =
  | 'Root'
  | 'IAMUser'
  | 'AssumedRole'
  | 'Role'
  | 'FederatedUser'
  | 'AWSService'
  | 'AWSAccount'
  | 'IdentityCenterUser'
  | 'SAMLUser'
  | 'WebIdentityUser'
  | 'Anonymous'
  | 'Unknown';

export interface TrailEvent {
  /** eventTime as epoch milliseconds (UTC). */
  readonly time: number;
  /** The account whose trail recorded the event: recipientAccountId, else userIdentity.accountId, else the key's account. */
  readonly account: string;
  /** awsRegion. */
  readonly region: string;
  /** eventSource, e.g. `iam.amazonaws.com`. */
  readonly source: string;
  /** eventName, e.g. `CreateUser`. */
  readonly name: string;
  /** True for read-only calls. From `readOnly` when present (boolean or "true"/"false"), else inferred from the API name. */
  readonly readOnly: boolean;
  /** True when `readOnly` was absent in the record and was inferred from the API name. */
  readonly readOnlyInferred: boolean;
  /** errorCode, when the call failed. */
  readonly errorCode?: string;
  /**
   * The principal, folded so that baselines are per identity, not per session:
   * assumed-role sessions become the role ARN (`arn:aws:iam::<acct>:role/<path/name>`), root becomes
   * `arn:aws:iam::<acct>:root`, IAM users their user ARN, AWS services their service name
   * (`ec2.amazonaws.com`), unauthenticated calls `anonymous`.
   */
  readonly principal: string;
  readonly principalKind: PrincipalKind;
  /** For assumed roles: the session name (alice@example.com), useful in explanations. */
  readonly sessionName?: string;
  /** sourceIPAddress. */
  readonly sourceIp?: string;
  /** userAgent (CloudTrail caps it at 1 KB). */
  readonly userAgent?: string;
  /** eventID: the dedupe key. Missing only in malformed records. */
  readonly eventId?: string;
  /** eventType: AwsApiCall, AwsConsoleSignIn, AwsServiceEvent, AwsConsoleAction, ... (absent before eventVersion 1.02). */
  readonly eventType?: string;
  /** eventCategory: Management, Data, NetworkActivity, Insight (absent before 1.07). */
  readonly category?: string;
  /** True for management events: `managementEvent`, else `eventCategory === 'Management'`, else true for old records. */
  readonly management: boolean;
  /** ConsoleLogin only: `responseElements.ConsoleLogin` (a failure with an errorCode but no response counts as Failure). */
  readonly loginOutcome?: 'Success' | 'Failure';
  /** ConsoleLogin only: `additionalEventData.MFAUsed` ("Yes"/"No"); absent when the record does not say. */
  readonly mfaUsed?: boolean;
  /** The parsed record, only when the reader was asked to keep it. */
  readonly raw?: Record<string, unknown>;
}
