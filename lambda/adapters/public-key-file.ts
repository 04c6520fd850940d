/** Public keys saved with `aws cloudtrail list-public-keys > keys.json`, for offline verification. */
import { readFile } from 'node:fs/promises';
import { PublicKeyRing } from '../core/digest';
import type { PublicKeySource } from '../integrity/ports';

export class PublicKeyFiles implements PublicKeySource {
  private constructor(readonly ring: PublicKeyRing) {}

  /** Loads every file; a file that is not JSON fails with its name, bad entries are in `ring.problems`. */
  static async load(paths: readonly string[]): Promise<PublicKeyFiles> {
    const ring = new PublicKeyRing();
    for (const path of paths) {
      let document: unknown;
      try {
        document = JSON.parse(await readFile(path, 'utf8'));
      } catch (e) {
        throw new Error(`cannot read public keys from ${path}: ${(e as Error).message}`);
      }
      ring.addJson(document, path);
    }
    return new PublicKeyFiles(ring);
  }

  async ringFor(): Promise<PublicKeyRing> {
    return this.ring;
  }
}
