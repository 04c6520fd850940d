/**
 * The rule groups' markers in the detection data table (docs/rules.md, "Grouping"): one item per group window,
 * `pk = r|<group id>`, `sk = marker` (a partition of its own, so the evaluator's queries by account never see
 * it), holding `owner` (the first file recorded), `files` (SS, every file recorded), `matches` (N, their
 * matches), `sent` (BOOL, the owner's event was accepted by the bus), `expiresAt` (TTL: the latest file's
 * dedupe window), and `rule`, `account`, `principal`, `windowStart` for people reading the table.
 *
 * One conditional UpdateItem per file and group: a file already in `files` changes nothing (a redelivery),
 * whatever order files come in. GroupLedger (lambda/core/rules/grouping.ts) is the same in memory.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { FileGroup, LedgerOutcome } from '../core/rules';
import type { RuleGroupStore } from '../pipeline/rule-matches';

/** The marker item's sort key. */
const MARKER = 'marker';

export class DynamoDbRuleGroups implements RuleGroupStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  private key(groupId: string) {
    return { pk: { S: `r|${groupId}` }, sk: { S: MARKER } };
  }

  async record(group: FileGroup, file: string, expiresAt: number): Promise<LedgerOutcome> {
    const { rule, event } = group.first;
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(group.id),
          UpdateExpression:
            'SET #owner = if_not_exists(#owner, :file), expiresAt = :expires, #rule = :rule, account = :account, ' +
            'principal = :principal, windowStart = :windowStart ADD files :files, matches :count',
          ConditionExpression: 'attribute_not_exists(files) OR NOT contains(files, :file)',
          ExpressionAttributeNames: { '#owner': 'owner', '#rule': 'rule' },
          ExpressionAttributeValues: {
            ':file': { S: file },
            ':files': { SS: [file] },
            ':count': { N: String(group.count) },
            ':expires': { N: String(expiresAt) },
            ':rule': { S: rule.ref.name },
            ':account': { S: event.account },
            ':principal': { S: event.principal },
            ':windowStart': { N: String(group.windowStart) },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes?.owner?.S === file ? 'alert' : 'counted';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // The file was recorded for this group before: a redelivery. Only an owner whose event is not known to be
    // sent has something left to do.
    const current = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: this.key(group.id), ConsistentRead: true }),
    );
    const item = current.Item;
    return item?.owner?.S === file && item.sent?.BOOL !== true ? 'alert' : 'duplicate';
  }

  async markSent(groupId: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(groupId),
        UpdateExpression: 'SET sent = :sent',
        ExpressionAttributeValues: { ':sent': { BOOL: true } },
      }),
    );
  }
}
