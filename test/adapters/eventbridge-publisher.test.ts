import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import {
  EventBridgeInsightPublisher,
  entrySize,
  MAX_ENTRIES_PER_REQUEST,
  MAX_REQUEST_BYTES,
  packRequests,
} from '../../lambda/adapters/eventbridge-publisher';

const eventBridge = mockClient(EventBridgeClient);

function insight(i: number, padding = 0) {
  return { eventID: `id-${i}`, eventTime: '2024-05-01T10:00:00Z', pad: 'x'.repeat(padding) };
}

/** Accepts every entry, like a healthy bus. */
function acceptAll() {
  let n = 0;
  eventBridge.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({
    FailedEntryCount: 0,
    Entries: (input.Entries ?? []).map(() => ({ EventId: `ev-${n++}` })),
  }));
}

function sentEntries() {
  return eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries ?? []);
}

const noSleep = async () => {};

describe('EventBridgeInsightPublisher', () => {
  beforeEach(() => eventBridge.reset());

  test('sends at most 10 entries per PutEvents request, in order', async () => {
    // Prepare
    acceptAll();
    const publisher = new EventBridgeInsightPublisher(new EventBridgeClient({}), { eventBusName: 'trailsight' });

    // Act
    const result = await publisher.publish(Array.from({ length: 23 }, (_, i) => insight(i)));

    // Assess
    expect(result).toEqual({ published: 23, failed: [], requests: 3 });
    const batches = sentEntries();
    expect(batches.map((b) => b.length)).toEqual([10, 10, 3]);
    const ids = batches.flat().map((e) => JSON.parse(e.Detail ?? '{}').eventID);
    expect(ids).toEqual(Array.from({ length: 23 }, (_, i) => `id-${i}`));
    expect(batches[0][0]).toMatchObject({
      EventBusName: 'trailsight',
      Source: 'trailsight',
      DetailType: 'Trailsight Insight',
    });
  });

  test('splits requests so their total entry size stays under 256 KB', async () => {
    acceptAll();
    const publisher = new EventBridgeInsightPublisher(new EventBridgeClient({}), { eventBusName: 'b' });

    // Four entries of ~100 KB each: two fit in one request, three do not.
    const result = await publisher.publish([0, 1, 2, 3].map((i) => insight(i, 100 * 1024)));

    expect(result.published).toBe(4);
    const batches = sentEntries();
    expect(batches.map((b) => b.length)).toEqual([2, 2]);
    for (const batch of batches) {
      expect(batch.reduce((sum, e) => sum + entrySize(e), 0)).toBeLessThan(MAX_REQUEST_BYTES);
    }
  });

  test('retries only the entries EventBridge rejected, then succeeds', async () => {
    // Prepare: the first call rejects entries 1 and 3; the retry accepts everything.
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: [
          { EventId: 'a' },
          { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' },
          { EventId: 'c' },
          { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' },
        ],
      })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }, { EventId: 'd' }] });
    const delays: number[] = [];
    const publisher = new EventBridgeInsightPublisher(new EventBridgeClient({}), {
      eventBusName: 'b',
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 1,
    });

    // Act
    const result = await publisher.publish([0, 1, 2, 3].map((i) => insight(i)));

    // Assess
    expect(result).toEqual({ published: 4, failed: [], requests: 2 });
    const retried = sentEntries()[1].map((e) => JSON.parse(e.Detail ?? '{}').eventID);
    expect(retried).toEqual(['id-1', 'id-3']);
    expect(delays).toEqual([200]);
  });

  test('reports entries still failing after every attempt instead of dropping them', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }],
    });
    const publisher = new EventBridgeInsightPublisher(new EventBridgeClient({}), {
      eventBusName: 'b',
      maxAttempts: 3,
      sleep: noSleep,
    });

    const result = await publisher.publish([insight(7)]);

    expect(result.published).toBe(0);
    expect(result.requests).toBe(3);
    expect(result.failed).toEqual([
      { detail: insight(7), errorCode: 'ThrottlingException', errorMessage: 'slow down (after 3 attempts)' },
    ]);
  });

  test('reports an entry over the size limit without sending it', async () => {
    acceptAll();
    const publisher = new EventBridgeInsightPublisher(new EventBridgeClient({}), { eventBusName: 'b' });

    const result = await publisher.publish([insight(1, MAX_REQUEST_BYTES), insight(2)]);

    expect(result.published).toBe(1);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0].errorCode).toBe('EntryTooLarge');
    expect(sentEntries().flat()).toHaveLength(1);
  });

  test('treats a missing result for an entry as a failure', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const publisher = new EventBridgeInsightPublisher(new EventBridgeClient({}), {
      eventBusName: 'b',
      maxAttempts: 1,
    });

    const result = await publisher.publish([insight(1)]);

    expect(result.failed.map((f) => f.errorCode)).toEqual(['MissingResult']);
  });

  test('propagates a request-level error (the SDK has already retried it)', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('AccessDeniedException'));
    const publisher = new EventBridgeInsightPublisher(new EventBridgeClient({}), { eventBusName: 'b' });

    await expect(publisher.publish([insight(1)])).rejects.toThrow(/AccessDenied/);
  });

  test('sets Time and Resources when the caller provides them', async () => {
    acceptAll();
    const publisher = new EventBridgeInsightPublisher(new EventBridgeClient({}), {
      eventBusName: 'b',
      timeOf: () => new Date('2024-05-01T10:00:00Z'),
      resourcesOf: () => ['arn:aws:iam::111122223333:role/ci'],
    });

    await publisher.publish([insight(1)]);

    const [entry] = sentEntries()[0];
    expect(entry.Time).toEqual(new Date('2024-05-01T10:00:00Z'));
    expect(entry.Resources).toEqual(['arn:aws:iam::111122223333:role/ci']);
    expect(entrySize(entry)).toBe(
      14 + 'trailsight'.length + 'Trailsight Insight'.length + (entry.Detail ?? '').length + entry.Resources![0].length,
    );
  });

  test('fails when the source is reserved for AWS', () => {
    expect(
      () => new EventBridgeInsightPublisher(new EventBridgeClient({}), { eventBusName: 'b', source: 'aws.cloudtrail' }),
    ).toThrow(/reserved for AWS/);
  });
});

describe('packRequests', () => {
  test('never exceeds the entry count or byte limit', () => {
    const items = Array.from({ length: 57 }, (_, i) => ({ bytes: (i * 7919) % 60000 }));
    const requests = packRequests(items);
    expect(requests.flat()).toEqual(items);
    for (const request of requests) {
      expect(request.length).toBeLessThanOrEqual(MAX_ENTRIES_PER_REQUEST);
      expect(request.reduce((s, x) => s + x.bytes, 0)).toBeLessThan(MAX_REQUEST_BYTES);
    }
  });
});
