import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Tests run as root here, where permissions cannot make a directory unreadable: fail readdir for one path.
jest.mock('node:fs/promises', () => {
  const actual = jest.requireActual('node:fs/promises');
  return {
    ...actual,
    readdir: (path: string, options: unknown) =>
      String(path).endsWith('locked')
        ? Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }))
        : actual.readdir(path, options),
  };
});

import { listLocalFiles } from '../../lambda/adapters/local-files';

describe('listLocalFiles', () => {
  test('fails naming the directory when one below the root cannot be read, instead of dropping its files', async () => {
    const root = mkdtempSync(join(tmpdir(), 'trailsight-unreadable-'));
    mkdirSync(join(root, 'locked'));
    writeFileSync(join(root, 'locked', 'a.json.gz'), '');
    try {
      await expect(listLocalFiles([root])).rejects.toThrow(/cannot read directory .*locked: EACCES/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
