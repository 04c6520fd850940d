import type { CliIo } from '../../cli/io';

/** A CliIo that records what a command prints, for assertions on stdout and stderr. */
export function captureIo(tty = false): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stderrIsTty: tty,
    stdout(t: string) {
      io.out += t;
    },
    stderr(t: string) {
      io.err += t;
    },
  };
  return io;
}
