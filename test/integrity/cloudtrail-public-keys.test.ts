/** CloudTrail ListPublicKeys through the cache (aws-sdk-client-mock: no stand-in serves CloudTrail). */
import { CloudTrailClient, ListPublicKeysCommand } from '@aws-sdk/client-cloudtrail';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudTrailPublicKeys } from '../../lambda/adapters/cloudtrail-public-keys';
import { generateSigningKey, type SigningKey } from '../support/digest-tree';

const cloudTrail = mockClient(CloudTrailClient);
const SIGNED = Date.UTC(2024, 2, 1, 1, 1, 31);
let a: SigningKey;
let b: SigningKey;

/** A key as the SDK returns it: Value as bytes, times as Dates. */
function sdkKey(k: SigningKey) {
  return {
    Value: Buffer.from(k.listEntry.Value, 'base64'),
    Fingerprint: k.listEntry.Fingerprint,
    ValidityStartTime: new Date(k.listEntry.ValidityStartTime),
    ValidityEndTime: new Date(k.listEntry.ValidityEndTime),
  };
}

beforeAll(() => {
  a = generateSigningKey();
  b = generateSigningKey();
});
beforeEach(() => cloudTrail.reset());

describe('CloudTrailPublicKeys', () => {
  test('lists the keys of the digest Region around its signing time, and serves them from cache afterwards', async () => {
    cloudTrail.on(ListPublicKeysCommand).resolves({ PublicKeyList: [sdkKey(a)] });
    const regions: string[] = [];
    const keys = new CloudTrailPublicKeys({
      clientFor: (region) => {
        regions.push(region);
        return new CloudTrailClient({ region });
      },
    });

    const first = await keys.ringFor([{ fingerprint: a.listEntry.Fingerprint, region: 'eu-west-1', signedAt: SIGNED }]);
    const second = await keys.ringFor([
      { fingerprint: a.listEntry.Fingerprint, region: 'eu-west-1', signedAt: SIGNED },
    ]);

    expect(first.get(a.listEntry.Fingerprint)?.key.asymmetricKeyType).toBe('rsa');
    expect(second).toBe(first);
    expect(keys.calls).toBe(1);
    expect(regions).toEqual(['eu-west-1']);
    const input = cloudTrail.commandCalls(ListPublicKeysCommand)[0].args[0].input;
    expect(input.StartTime).toEqual(new Date(SIGNED - 86_400_000));
    expect(input.EndTime).toEqual(new Date(SIGNED + 86_400_000));
  });

  test('follows NextToken and lists each Region once per batch', async () => {
    cloudTrail
      .on(ListPublicKeysCommand)
      .resolvesOnce({ PublicKeyList: [sdkKey(a)], NextToken: 'page-2' })
      .resolves({ PublicKeyList: [sdkKey(b)] });
    const keys = new CloudTrailPublicKeys({ clientFor: (region) => new CloudTrailClient({ region }) });

    const ring = await keys.ringFor([
      { fingerprint: b.listEntry.Fingerprint, region: 'us-east-1', signedAt: SIGNED },
      { fingerprint: a.listEntry.Fingerprint, region: 'us-east-1', signedAt: SIGNED + 3_600_000 },
    ]);

    expect(ring.size).toBe(2);
    expect(cloudTrail.commandCalls(ListPublicKeysCommand).map((c) => c.args[0].input.NextToken)).toEqual([
      undefined,
      'page-2',
    ]);
  });

  test('does not ask again for a fingerprint CloudTrail does not know, until the negative cache expires', async () => {
    cloudTrail.on(ListPublicKeysCommand).resolves({ PublicKeyList: [sdkKey(a)] });
    let now = SIGNED;
    const keys = new CloudTrailPublicKeys({ clientFor: () => new CloudTrailClient({}), now: () => now });
    const unknown = [{ fingerprint: 'ffffffffffffffffffffffffffffffff', region: 'eu-west-1', signedAt: SIGNED }];

    await keys.ringFor(unknown);
    await keys.ringFor(unknown);
    now += 2 * 3_600_000;
    await keys.ringFor(unknown);

    expect(keys.calls).toBe(2);
  });

  test('propagates a ListPublicKeys failure (the caller fails the invocation, and it is retried)', async () => {
    cloudTrail.on(ListPublicKeysCommand).rejects(new Error('AccessDeniedException'));
    const keys = new CloudTrailPublicKeys({ clientFor: () => new CloudTrailClient({}) });

    await expect(
      keys.ringFor([{ fingerprint: a.listEntry.Fingerprint, region: 'eu-west-1', signedAt: SIGNED }]),
    ).rejects.toThrow(/AccessDenied/);
  });
});
