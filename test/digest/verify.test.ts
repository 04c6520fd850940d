/**
 * The digest verifier against trees signed as CloudTrail documents, untouched and tampered with (issue #10, part 3):
 * every tampering is reported with its file and kind.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { DeliveryTree, generateSigningKey, type SigningKey, sampleLogFiles } from '../support/digest-tree';
import { kindsAndFiles, verifyTree } from './helpers';

const HOUR = 3_600_000;
let aws: SigningKey;
let foreign: SigningKey;

beforeAll(() => {
  aws = generateSigningKey();
  foreign = generateSigningKey();
});

describe('an untouched delivery tree', () => {
  test('passes: every digest verified, every log file hashing to its listed SHA-256', async () => {
    const tree = new DeliveryTree(aws, { hours: 4, filesPerHour: 2 });

    const report = await verifyTree(tree);

    expect(report.findings).toEqual([]);
    expect(report.status).toBe('PASS');
    expect(report.counts).toMatchObject({
      digests: 4,
      digestsVerified: 4,
      logFilesListed: 8,
      logFilesVerified: 8,
      errors: 0,
    });
    expect(report.chains).toEqual([
      {
        chain: '111122223333/eu-west-1/trailsight',
        account: '111122223333',
        region: 'eu-west-1',
        trailName: 'trailsight',
        backfill: false,
        digests: 4,
        from: '2024-03-01T00:01:31Z',
        to: '2024-03-01T04:01:31Z',
      },
    ]);
  });

  test('passes with the documented empty digests for hours without log files', async () => {
    const tree = new DeliveryTree(aws, { hours: 5, emptyHours: [1, 2] });

    const report = await verifyTree(tree);

    expect(report.status).toBe('PASS');
    expect(report.counts.digestsVerified).toBe(5);
    expect(tree.document(tree.digestKeys[1]).logFiles).toEqual([]);
  });

  test('passes for an organization trail (keys under AWSLogs/<o-id>/)', async () => {
    const report = await verifyTree(new DeliveryTree(aws, { organizationId: 'o-a1b2c3d4e5' }));
    expect(report.findings).toEqual([]);
  });

  test('offline, authenticates every digest from the newest signature alone, as the User Guide describes', async () => {
    const tree = new DeliveryTree(aws, { hours: 4 });

    const report = await verifyTree(tree, { withoutMetadata: 'all-but-newest' });

    expect(report.findings).toEqual([]);
    expect(report.counts.digestsVerified).toBe(4);
  });

  test('without the newest signature, reports only the newest digest as unauthenticated', async () => {
    const tree = new DeliveryTree(aws, { hours: 3 });

    const report = await verifyTree(tree, { withoutMetadata: 'all' });

    expect(kindsAndFiles(report)).toEqual([`digest-signature-missing ${tree.digestKeys[2]}`]);
    expect(report.counts).toMatchObject({ digestsVerified: 2, digestsUnauthenticated: 1, logFilesVerified: 6 });
  });
});

describe('tampering', () => {
  let tree: DeliveryTree;
  beforeEach(() => {
    tree = new DeliveryTree(aws, { hours: 4, filesPerHour: 2 });
  });

  test('a deleted log file is reported missing', async () => {
    const deleted = tree.logKeysByHour[1][0];
    tree.objects.delete(deleted);

    const report = await verifyTree(tree);

    expect(report.status).toBe('FAIL');
    expect(kindsAndFiles(report)).toEqual([`log-missing ${deleted}`]);
    expect(report.findings[0].message).toContain(tree.digestKeys[1]);
  });

  test('one changed byte in a log file is a hash mismatch', async () => {
    const changed = tree.logKeysByHour[2][1];
    const content = gunzipSync(tree.object(changed).body);
    const at = content.indexOf('"sourceIPAddress":"') + 19;
    content[at] = content[at] === 0x31 ? 0x32 : 0x31;
    tree.object(changed).body = gzipSync(content);

    const report = await verifyTree(tree);

    expect(kindsAndFiles(report)).toEqual([`log-hash-mismatch ${changed}`]);
  });

  test('one changed byte in the gzip stream itself makes the log file unreadable', async () => {
    const changed = tree.logKeysByHour[0][0];
    const body = Buffer.from(tree.object(changed).body);
    body[body.length - 6] ^= 0xff; // inside the CRC-32 trailer
    tree.object(changed).body = body;

    const report = await verifyTree(tree);

    expect(kindsAndFiles(report)).toEqual([`log-unreadable ${changed}`]);
    expect(report.findings[0].message).toMatch(/cannot be decompressed/);
  });

  test('bytes appended after the gzip stream are reported, although zlib would ignore them', async () => {
    const changed = tree.logKeysByHour[0][1];
    tree.object(changed).body = Buffer.concat([tree.object(changed).body, Buffer.alloc(16)]);

    const report = await verifyTree(tree);

    expect(kindsAndFiles(report)).toEqual([`log-trailing-data ${changed}`]);
  });

  test('a gzip member appended to a log file (extra records) is a hash mismatch', async () => {
    const changed = tree.logKeysByHour[1][1];
    tree.object(changed).body = Buffer.concat([tree.object(changed).body, gzipSync('{"Records":[]}')]);

    const report = await verifyTree(tree);

    expect(kindsAndFiles(report)).toEqual([`log-hash-mismatch ${changed}`]);
  });

  test('a planted log file is listed by no digest', async () => {
    const planted = tree.logKeysByHour[1][0].replace(/_[0-9a-f]{16}\.json\.gz$/, '_PLANTEDplanted00.json.gz');
    tree.objects.set(planted, { body: sampleLogFiles()[0] });

    const report = await verifyTree(tree);

    expect(kindsAndFiles(report)).toEqual([`log-unlisted ${planted}`]);
    expect(report.findings[0].message).toMatch(/listed by no authentic digest/);
  });

  test('a planted file in an account no digest covers is reported too', async () => {
    const planted = tree.logKeysByHour[1][0].replace(/111122223333/g, '999999999999');
    tree.objects.set(planted, { body: sampleLogFiles()[0] });

    const report = await verifyTree(tree);

    expect(kindsAndFiles(report)).toEqual([`log-unlisted ${planted}`]);
    expect(report.findings[0].message).toMatch(/there is none for AWSLogs\/999999999999\/eu-west-1/);
  });

  test('a dropped digest is reported missing, and the files it listed are no longer covered', async () => {
    const dropped = tree.digestKeys[1];
    tree.objects.delete(dropped);

    const report = await verifyTree(tree);

    expect(kindsAndFiles(report)).toEqual(
      [`digest-missing ${dropped}`, ...tree.logKeysByHour[1].map((k) => `log-unlisted ${k}`)].sort(),
    );
    expect(report.findings.find((f) => f.kind === 'digest-missing')?.message).toContain(tree.digestKeys[2]);
  });

  test('a replaced digest breaks the chain, even when the replacement is validly signed', async () => {
    // The hour-1 digest is replaced by one listing only its first log file, signed with the right key.
    const replaced = tree.digestKeys[1];
    const document = tree.document(replaced);
    tree.putDigest(replaced, { ...document, logFiles: document.logFiles.slice(0, 1) }, aws);

    const report = await verifyTree(tree);

    expect(kindsAndFiles(report)).toEqual(
      [`digest-chain-broken ${tree.digestKeys[2]}`, `log-unlisted ${tree.logKeysByHour[1][1]}`].sort(),
    );
    expect(report.findings.find((f) => f.kind === 'digest-chain-broken')?.message).toMatch(
      /previousDigestHashValue is not the SHA-256 of .*and its previousDigestSignature is not the signature/,
    );
  });

  test('a digest changed and re-signed with a foreign key, AWS fingerprint kept, fails its signature', async () => {
    const forged = tree.digestKeys[2];
    const document = tree.document(forged);
    tree.putDigest(forged, { ...document, logFiles: document.logFiles.slice(1) }, foreign);

    const report = await verifyTree(tree);

    expect(report.findings.filter((f) => f.file === forged).map((f) => f.kind)).toEqual(['digest-signature-invalid']);
    expect(report.counts.digestsRejected).toBe(1);
    // A rejected digest vouches for nothing: the files it listed are no longer covered.
    expect(kindsAndFiles(report)).toEqual(
      expect.arrayContaining(tree.logKeysByHour[2].map((k) => `log-unlisted ${k}`)),
    );
  });

  test('a digest re-signed with a foreign key and its fingerprint is signed by an unknown key', async () => {
    const forged = tree.digestKeys[3];
    const document = tree.document(forged);
    tree.putDigest(forged, { ...document, digestPublicKeyFingerprint: foreign.listEntry.Fingerprint }, foreign);

    const report = await verifyTree(tree);

    expect(kindsAndFiles(report)).toEqual([`digest-unknown-key ${forged}`]);
    expect(report.findings[0].message).toContain(foreign.listEntry.Fingerprint);
    expect(report.status).toBe('FAIL');
  });

  test('a digest moved to another key is rejected', async () => {
    const original = tree.digestKeys[3];
    const moved = original.replace('T040131Z', 'T050131Z');
    tree.objects.set(moved, tree.object(original));
    tree.objects.delete(original);

    const report = await verifyTree(tree);

    expect(report.findings.filter((f) => f.file === moved).map((f) => f.kind)).toEqual(['digest-moved']);
  });

  test('a digest read from another bucket than it names is rejected', async () => {
    const report = await verifyTree(tree, { bucket: 'copy-of-the-archive' });
    expect(new Set(report.findings.map((f) => f.kind))).toContain('digest-moved');
  });
});

describe('gaps in the chain', () => {
  test('an hour without a digest between two linked digests is a gap', async () => {
    const tree = new DeliveryTree(aws, { hours: 3 });
    // CloudTrail (this key) signs a digest that starts an hour after the previous one ended.
    const later = tree.digestKeys[2];
    const document = tree.document(later);
    tree.putDigest(later, { ...document, digestStartTime: '2024-03-01T03:01:31Z' }, aws);

    const report = await verifyTree(tree);

    expect(kindsAndFiles(report)).toEqual([`digest-gap ${later}`]);
    expect(report.findings[0].message).toMatch(/no digest covers 2024-03-01T02:01:31Z to 2024-03-01T03:01:31Z/);
  });

  test('a chain that starts again after stopped logging is a warning naming the undigested span', async () => {
    const first = new DeliveryTree(aws, { hours: 2 });
    const second = new DeliveryTree(aws, { hours: 2, start: Date.UTC(2024, 2, 1, 5, 1, 31) });
    for (const [k, o] of second.objects) first.objects.set(k, o);

    const report = await verifyTree(first);

    expect(report.findings.map((f) => [f.kind, f.severity, f.file])).toEqual([
      ['chain-restarted', 'warning', second.digestKeys[0]],
    ]);
    expect(report.findings[0].message).toMatch(/no digest covers 2024-03-01T02:01:31Z to 2024-03-01T05:01:31Z/);
    expect(report.status).toBe('PASS');
  });

  test('a chain whose newest digest is older than allowed is overdue', async () => {
    const tree = new DeliveryTree(aws, { hours: 2 });
    const end = Date.UTC(2024, 2, 1, 2, 1, 31);

    const fresh = await verifyTree(tree, { overdue: { now: end + HOUR, afterMs: 150 * 60_000 } });
    const stale = await verifyTree(tree, { overdue: { now: end + 3 * HOUR, afterMs: 150 * 60_000 } });

    expect(fresh.findings).toEqual([]);
    expect(kindsAndFiles(stale)).toEqual([`digest-overdue ${tree.digestKeys[1]}`]);
    expect(stale.findings[0].message).toMatch(/180 minutes ago/);
  });

  test('a missing digest older than the verification window is out of scope', async () => {
    const tree = new DeliveryTree(aws, { hours: 4 });
    tree.objects.delete(tree.digestKeys[0]);
    for (const k of tree.logKeysByHour[0]) tree.objects.delete(k);

    const report = await verifyTree(tree, { from: Date.UTC(2024, 2, 1, 1, 30) });

    expect(report.findings).toEqual([]);
  });
});

describe('log files not yet digested', () => {
  test('a file delivered after the newest digest is pending, not planted', async () => {
    const tree = new DeliveryTree(aws, { hours: 2 });
    const late = tree.logKeysByHour[1][0].replace(/T0\d{3}Z_[0-9a-f]{16}/, 'T0155Z_LATElatelate0000');
    tree.objects.set(late, { body: sampleLogFiles()[1] });

    const report = await verifyTree(tree);

    expect(report.findings).toEqual([]);
    expect(report.counts.logFilesPending).toBe(1);
  });
});
