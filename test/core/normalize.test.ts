import { createReadStream } from 'node:fs';
import type { TrailEvent } from '../../lambda/core/event';
import { foldPrincipal, inferReadOnly, isSkip, normalizeRecord, parseEventTime } from '../../lambda/core/normalize';
import { DATA_DIR, drain, record, walk } from './helpers';

describe('foldPrincipal', () => {
  test('folds an assumed-role session to the role ARN from the session issuer, keeping the session name', () => {
    expect(
      foldPrincipal({
        type: 'AssumedRole',
        arn: 'arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com',
        accountId: '111122223333',
        sessionContext: { sessionIssuer: { type: 'Role', arn: 'arn:aws:iam::111122223333:role/team/Admin' } },
      }),
    ).toEqual({
      principal: 'arn:aws:iam::111122223333:role/team/Admin',
      principalKind: 'AssumedRole',
      sessionName: 'alice@example.com',
    });
  });

  test('folds an assumed-role session without a session issuer from its STS ARN', () => {
    expect(foldPrincipal({ type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/level1/level1' })).toEqual(
      {
        principal: 'arn:aws:iam::111122223333:role/level1',
        principalKind: 'AssumedRole',
        sessionName: 'level1',
      },
    );
  });

  test.each([
    [
      { type: 'Root', arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333' },
      'arn:aws:iam::111122223333:root',
      'Root',
    ],
    [{ type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/bob' }, 'arn:aws:iam::111122223333:user/bob', 'IAMUser'],
    [{ type: 'IAMUser', accountId: '111122223333', userName: 'bob' }, 'arn:aws:iam::111122223333:user/bob', 'IAMUser'],
    [{ type: 'AWSService', invokedBy: 'ec2.amazonaws.com' }, 'ec2.amazonaws.com', 'AWSService'],
    [{ type: 'AWSAccount', principalId: '', accountId: 'ANONYMOUS_PRINCIPAL' }, 'anonymous', 'Anonymous'],
    [{ type: 'AWSAccount', principalId: 'AIDAX', accountId: '444455556666' }, 'aws-account:444455556666', 'AWSAccount'],
    [
      { type: 'FederatedUser', arn: 'arn:aws:sts::111122223333:federated-user/carol' },
      'arn:aws:sts::111122223333:federated-user/carol',
      'FederatedUser',
    ],
    [{ type: 'SAMLUser', userName: 'dave', identityProvider: 'idp' }, 'idp:dave', 'SAMLUser'],
    [{ type: 'Unknown', principalId: '', arn: '', accountId: '111122223333', userName: '' }, 'unknown', 'Unknown'],
    [undefined, 'unknown', 'Unknown'],
  ])('folds %j to %s', (identity, principal, principalKind) => {
    expect(foldPrincipal(identity)).toMatchObject({ principal, principalKind });
  });
});

describe('inferReadOnly', () => {
  test.each([
    'DescribeInstances',
    'GetObject',
    'ListBuckets',
    'HeadObject',
    'LookupEvents',
    'BatchGetImage',
    'Decrypt',
    'AssumeRole',
  ])('treats %s as a read', (name) => expect(inferReadOnly(name)).toBe(true));
  test.each(['RunInstances', 'PutObject', 'DeleteTrail', 'StopLogging', 'GetFederationToken', 'ConsoleLogin'])(
    'treats %s as a write',
    (name) => expect(inferReadOnly(name)).toBe(false),
  );

  test('agrees with the recorded readOnly on at least 99% of the real records that carry it', async () => {
    let agree = 0;
    let total = 0;
    const files = walk(DATA_DIR).filter((f) => f.endsWith('.json.gz') || f.includes('/detonation-logs/'));
    for (const file of files) {
      const { events } = await drain(createReadStream(file), { file });
      for (const e of events.filter((x) => !x.readOnlyInferred)) {
        total++;
        if (inferReadOnly(e.name) === e.readOnly) agree++;
      }
    }
    expect(total).toBeGreaterThan(1000);
    expect(agree / total).toBeGreaterThanOrEqual(0.99);
  });
});

describe('parseEventTime', () => {
  test.each([
    ['2025-03-01T09:15:02Z', Date.UTC(2025, 2, 1, 9, 15, 2)],
    ['2024-02-29T23:59:60Z', Date.UTC(2024, 1, 29, 23, 59, 60)],
    ['2025-03-01T09:15:02.123Z', Date.UTC(2025, 2, 1, 9, 15, 2, 123)],
    ['2025-03-01T10:15:02+01:00', Date.UTC(2025, 2, 1, 9, 15, 2)],
    ['2026-01-11 22:54:56.000000000', Date.UTC(2026, 0, 11, 22, 54, 56)],
  ])('reads %s', (text, ms) => expect(parseEventTime(text)).toBe(ms));

  test.each([
    'redacted',
    '...',
    '2025-13-01T00:00:00Z',
    '2025-03-01T24:00:00Z',
    '2025-03-0xT00:00:00Z',
    '2025-03-01',
    '',
  ])('rejects %j', (text) => expect(parseEventTime(text)).toBeUndefined());
});

describe('normalizeRecord', () => {
  test('maps the documented fields', () => {
    const e = normalizeRecord(record({ errorCode: 'AccessDenied' }));
    expect(e).toEqual({
      time: Date.UTC(2025, 2, 1, 9, 15, 2),
      account: '111122223333',
      region: 'us-east-1',
      source: 'iam.amazonaws.com',
      name: 'CreateUser',
      readOnly: false,
      readOnlyInferred: false,
      errorCode: 'AccessDenied',
      principal: 'arn:aws:iam::111122223333:user/alice',
      principalKind: 'IAMUser',
      sourceIp: '203.0.113.10',
      userAgent: 'aws-cli/2.15.0',
      eventId: expect.any(String),
      eventType: 'AwsApiCall',
      category: 'Management',
      management: true,
    });
  });

  test('reads readOnly given as a string', () => {
    expect(normalizeRecord(record({ readOnly: 'true' }))).toMatchObject({ readOnly: true, readOnlyInferred: false });
    expect(normalizeRecord(record({ eventName: 'ListUsers', readOnly: 'false' }))).toMatchObject({ readOnly: false });
  });

  test('infers readOnly, and flags it, when the field is missing', () => {
    const { readOnly: _r, ...old } = record({ eventName: 'DescribeInstances' });
    expect(normalizeRecord(old)).toMatchObject({ readOnly: true, readOnlyInferred: true });
  });

  test('classifies management vs data from managementEvent, else eventCategory, else as management', () => {
    expect(normalizeRecord(record({ managementEvent: false, eventCategory: 'Data' }))).toMatchObject({
      management: false,
    });
    const { managementEvent: _m, ...noFlag } = record({ eventCategory: 'Data' });
    expect(normalizeRecord(noFlag)).toMatchObject({ management: false });
    const { managementEvent: _m2, eventCategory: _c, ...old } = record();
    expect(normalizeRecord(old)).toMatchObject({ management: true });
  });

  test('takes the account from recipientAccountId, then userIdentity, then the fallback', () => {
    const { recipientAccountId: _a, ...noRecipient } = record();
    expect(normalizeRecord(noRecipient)).toMatchObject({ account: '111122223333' });
    const { recipientAccountId: _b, userIdentity: _u, ...bare } = record();
    expect(normalizeRecord(bare, { fallbackAccount: '999988887777' })).toMatchObject({
      account: '999988887777',
      principal: 'unknown',
    });
  });

  test('reads console sign-in outcome and MFA use', () => {
    const ok = record({
      eventName: 'ConsoleLogin',
      responseElements: { ConsoleLogin: 'Success' },
      additionalEventData: { MFAUsed: 'Yes' },
    });
    expect(normalizeRecord(ok)).toMatchObject({ loginOutcome: 'Success', mfaUsed: true });
    const failed = record({ eventName: 'ConsoleLogin', errorMessage: 'Failed authentication', errorCode: 'Failed' });
    expect(normalizeRecord(failed)).toMatchObject({ loginOutcome: 'Failure' });
  });

  test('keeps the raw record only when asked', () => {
    const r = record();
    expect((normalizeRecord(r) as TrailEvent).raw).toBeUndefined();
    expect((normalizeRecord(r, { keepRaw: true }) as TrailEvent).raw).toBe(r);
  });

  test('skips a record without eventTime or eventName, and an Insights record', () => {
    const { eventName: _n, ...noName } = record();
    const skipped = normalizeRecord(noName);
    expect(isSkip(skipped) && skipped.skip).toBe('record-missing-field');
    const insight = normalizeRecord({ eventTime: '2025-03-01T09:15:02Z', eventType: 'AwsCloudTrailInsight' });
    expect(isSkip(insight) && insight.skip).toBe('insight-record');
  });
});
