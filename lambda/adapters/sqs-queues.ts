/**
 * The pipeline's two SQS ports: the evaluation queue (one message per scan segment) and the insight
 * dead-letter queue (insights the bus refused for good, kept for an operator with their reason).
 */
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetters, SegmentMessage, SegmentQueue } from '../pipeline/ports';

/** SendMessageBatch takes at most this many entries. */
const BATCH = 10;

export class SqsSegmentQueue implements SegmentQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(messages: readonly SegmentMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += BATCH) {
      let entries = messages
        .slice(i, i + BATCH)
        .map((m) => ({ Id: String(m.segment), MessageBody: JSON.stringify(m) }));
      for (let attempt = 1; entries.length > 0; attempt++) {
        const out = await this.client.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
        const failed = new Set((out.Failed ?? []).map((f) => f.Id));
        entries = entries.filter((e) => failed.has(e.Id));
        if (entries.length > 0 && attempt >= 4) {
          throw new Error(`${entries.length} evaluation segments could not be queued: ${out.Failed?.[0]?.Message}`);
        }
      }
    }
  }
}

export class SqsDeadLetters implements DeadLetters {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(item: Parameters<DeadLetters['send']>[0]): Promise<void> {
    await this.client.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(item) }));
  }
}
