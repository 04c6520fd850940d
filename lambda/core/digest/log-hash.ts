/**
 * The SHA-256 a digest lists for a log file: over the decompressed content (CloudTrail User Guide, "CloudTrail digest
 * file structure", `hashValue`), streamed so a 50 MB log file is never held whole.
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

export type LogHash =
  | {
      readonly ok: true;
      /** Hex SHA-256 of the decompressed content. */
      readonly sha256: string;
      /** Bytes after the end of the gzip stream (zlib ignores trailing zeros; `validate-logs` rejects them). */
      readonly trailingBytes: number;
    }
  | { readonly ok: false; readonly reason: string };

/** Hashes a (gzipped, or locally decompressed) log file; never throws. */
export async function hashLogFile(source: AsyncIterable<Uint8Array>): Promise<LogHash> {
  const iterator = source[Symbol.asyncIterator]();
  let first: IteratorResult<Uint8Array>;
  try {
    first = await iterator.next();
  } catch (e) {
    return { ok: false, reason: `cannot be read (${(e as Error).message})` };
  }
  const hash = createHash('sha256');
  if (first.done) return { ok: true, sha256: hash.digest('hex'), trailingBytes: 0 };
  const head = Buffer.from(first.value);
  let inputBytes = 0;
  const chunks = async function* (): AsyncGenerator<Buffer> {
    inputBytes += head.length;
    yield head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      inputBytes += next.value.byteLength;
      yield Buffer.from(next.value);
    }
  };
  const gzipped = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const gunzip = createGunzip();
  try {
    if (gzipped) {
      await pipeline(chunks(), gunzip, async (output: AsyncIterable<Buffer>) => {
        for await (const chunk of output) hash.update(chunk);
      });
    } else {
      // A decompressed local copy: its bytes are the content.
      for await (const chunk of chunks()) hash.update(chunk);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (!code.startsWith('Z_')) return { ok: false, reason: `cannot be read (${(e as Error).message})` };
    const why =
      code === 'Z_BUF_ERROR' ? 'the gzip stream is truncated' : `the gzip stream is corrupt (${(e as Error).message})`;
    return { ok: false, reason: `cannot be decompressed: ${why}` };
  }
  // bytesWritten is the input zlib consumed: less than was read means bytes after the end of the stream.
  return { ok: true, sha256: hash.digest('hex'), trailingBytes: gzipped ? inputBytes - gunzip.bytesWritten : 0 };
}
