/** After the run: removes the thread bundles test/support/global-setup.ts made. */
import { rmSync } from 'node:fs';
import { THREADS_DIR_ENV } from '../../lambda/adapters/threads';

export default function globalTeardown(): void {
  const dir = process.env[THREADS_DIR_ENV];
  if (dir) rmSync(dir, { recursive: true, force: true });
}
