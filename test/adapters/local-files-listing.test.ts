/**
 * Listing local trees never dies halfway: a missing path, an unreadable directory, a name that is not UTF-8, a
 * broken or looping symlink each become a counted problem and the walk goes on; symlinked files and directories
 * are followed; a file reached twice is listed once.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Tests run as root here, where permissions cannot make a directory unreadable: fail readdirSync for one path.
jest.mock('node:fs', () => {
  const actual = jest.requireActual('node:fs');
  return {
    ...actual,
    readdirSync: (path: string | Buffer, options: unknown) => {
      if (String(path).endsWith('locked'))
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      return actual.readdirSync(path, options);
    },
  };
});

import { listLocalFiles, scanLocalPaths } from '../../lambda/adapters/local-files';

const LOG = '111122223333_CloudTrail_us-east-1_20240301T0005Z_abcdefgh12345678.json.gz';

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'trailsight-listing-'));
  mkdirSync(join(root, 'a'));
  writeFileSync(join(root, 'a', LOG), 'x');
  mkdirSync(join(root, 'locked'));
  writeFileSync(join(root, 'locked', 'hidden.json'), '{}');
  return root;
}

const keys = (files: { key: string }[]) => files.map((f) => f.key);

describe('scanLocalPaths', () => {
  test('reports an unreadable subdirectory and lists the rest', () => {
    const root = tree();
    const listing = scanLocalPaths([root]);
    expect(keys(listing.files)).toEqual([`a/${LOG}`]);
    expect(listing.problems).toEqual([
      expect.objectContaining({
        kind: 'unreadable',
        message: expect.stringMatching(/cannot read directory .*locked: EACCES/),
      }),
    ]);
  });

  test('reports a missing path among several and lists the others', () => {
    const root = tree();
    const listing = scanLocalPaths([join(root, 'nope'), join(root, 'a')]);
    expect(keys(listing.files)).toEqual([LOG]);
    expect(listing.problems).toEqual([
      { path: join(root, 'nope'), kind: 'missing', message: `no such file or directory: ${join(root, 'nope')}` },
    ]);
  });

  test('reports a file name that is not valid UTF-8 instead of failing on it later', () => {
    const root = mkdtempSync(join(tmpdir(), 'trailsight-listing-'));
    writeFileSync(Buffer.concat([Buffer.from(`${root}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('.json')]), '[]');
    writeFileSync(join(root, 'good.json'), '[]');
    const listing = scanLocalPaths([root]);
    expect(keys(listing.files)).toEqual(['good.json']);
    expect(listing.problems).toEqual([
      expect.objectContaining({
        kind: 'bad-name',
        message: expect.stringMatching(/bad-\uFFFD\uFFFD\.json: the name is not valid UTF-8/),
      }),
    ]);
  });

  test('follows symlinked files and directories, lists a file reached twice once, and stops at a loop', () => {
    const root = mkdtempSync(join(tmpdir(), 'trailsight-listing-'));
    const real = join(root, 'real');
    mkdirSync(join(real, 'day'), { recursive: true });
    writeFileSync(join(real, 'day', LOG), 'x');
    const elsewhere = mkdtempSync(join(tmpdir(), 'trailsight-elsewhere-'));
    writeFileSync(join(elsewhere, 'export.json'), '[]');
    symlinkSync(join(elsewhere, 'export.json'), join(real, 'linked-file.json'));
    symlinkSync(join(real, 'day'), join(real, 'linked-dir'));
    symlinkSync(real, join(real, 'day', 'loop'));
    symlinkSync(join(root, 'gone'), join(real, 'broken.json'));
    const listing = scanLocalPaths([real]);
    expect(keys(listing.files)).toEqual([`day/${LOG}`, 'linked-file.json']);
    expect(listing.duplicates).toBe(1); // the log again through linked-dir
    expect(listing.problems.map((p) => p.kind).sort()).toEqual(['broken-link', 'link-loop', 'link-loop']);
  });

  test('lists a file given twice (overlapping paths) once', () => {
    const root = tree();
    const listing = scanLocalPaths([join(root, 'a'), join(root, 'a', LOG)]);
    expect(listing.files).toHaveLength(1);
    expect(listing.duplicates).toBe(1);
  });
});

test('lists the same CloudTrail delivery synced into two folders once', () => {
  const one = tree();
  const two = tree();
  const listing = scanLocalPaths([join(one, 'a'), join(two, 'a')]);
  expect(listing.files.map((f) => f.path)).toEqual([join(one, 'a', LOG)]);
  expect(listing.duplicates).toBe(1);
});

describe('listLocalFiles', () => {
  test('keeps its contract: throws on the first problem, naming it', async () => {
    await expect(listLocalFiles([tree()])).rejects.toThrow(/cannot read directory .*locked: EACCES/);
  });
});
