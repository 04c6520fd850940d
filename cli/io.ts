/**
 * The CLI's conventions, one set for every command:
 *
 * - **Streams:** results on stdout only; warnings, progress and the closing summary on stderr. When stdout is
 *   closed early (`trailsight … | head -1`) the rest of the output is dropped quietly and the command finishes
 *   its work (a `--state` file is still written); no EPIPE error escapes.
 * - **Exit status:** {@link EXIT}: 0 complete; 1 partial or failed (some input could not be read, a path was
 *   missing, or the query itself failed: stderr says which); 2 usage (the message names the option and the
 *   allowed values).
 * - **Options:** `-h/--help` on every command; `--format` takes the same names wherever it applies
 *   (`table|json|jsonl|csv`, see `output.ts`); usage errors are parsed by {@link parseOrExit}.
 * - **Inputs:** listed, classified and accounted for by `inputs.ts`.
 */
import { parseArgs } from 'node:util';

/** The CLI's view of the outside world, injectable so commands are testable without spawning a process. */
export interface CliIo {
  /** Results only (tables, JSON, JSONL). */
  stdout(text: string): void;
  /** Logs, warnings and progress. */
  stderr(text: string): void;
  /** True when stderr is a terminal, so a progress bar may redraw in place. */
  readonly stderrIsTty: boolean;
  /** True once the reader of stdout has gone away (`| head`): output is dropped, commands may stop early. */
  readonly stdoutClosed?: boolean;
}

export interface CliCommand {
  /** One line for the command list. */
  readonly summary: string;
  /** Runs the command and returns the process exit code. */
  run(argv: string[], io: CliIo): Promise<number>;
}

/** Exit statuses, the same for every command. */
export const EXIT = {
  /** Every input was read and the command did what was asked. */
  ok: 0,
  /** A partial result (an input could not be read, a path was missing) or a failure (the query failed). */
  partial: 1,
  /** Bad usage: unknown option, bad value, missing argument. */
  usage: 2,
} as const;

export function defaultIo(): CliIo {
  const state = { closed: false };
  // A closed pipe surfaces as an 'error' event on stdout (EPIPE); without a listener Node would throw it.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') state.closed = true;
    else throw e;
  });
  return {
    stdout: (text) => {
      if (!state.closed) process.stdout.write(text);
    },
    stderr: (text) => {
      process.stderr.write(text);
    },
    stderrIsTty: Boolean(process.stderr.isTTY),
    get stdoutClosed() {
      return state.closed;
    },
  };
}

/** A usage problem: reported as `trailsight <command>: <message>` with exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type ParseArgsConfig = NonNullable<Parameters<typeof parseArgs>[0]>;

/**
 * Parses a command's options and answers `--help` and usage errors the same way for every command.
 * Returns the parsed options, or the exit code when the command should stop (0 after help, 2 on bad usage).
 */
export function parseOrExit<T extends { values: { help?: boolean } }>(
  name: string,
  help: string,
  argv: string[],
  parse: (argv: string[]) => T,
  io: CliIo,
): T | number {
  const text = help.endsWith('\n') ? help : `${help}\n`;
  let parsed: T;
  try {
    parsed = parse(argv);
  } catch (e) {
    return usageError(name, io, (e as Error).message);
  }
  if (parsed.values.help) {
    io.stdout(text);
    return EXIT.ok;
  }
  return parsed;
}

/** Prints a usage error the one way every command does, and returns exit status 2. */
export function usageError(command: string, io: CliIo, message: string): number {
  io.stderr(`trailsight ${command}: ${message}\nRun 'trailsight ${command} --help' for the options.\n`);
  return EXIT.usage;
}

/** The common shape of a command's option parser: strict, positionals allowed, `-h/--help` included. */
export function optionParser<O extends ParseArgsConfig['options']>(options: O) {
  return (argv: string[]) =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...options, help: { type: 'boolean', short: 'h' } } as O & {
        help: { type: 'boolean'; short: 'h' };
      },
    });
}

/** Checks an option against its allowed values; the error names the option, the value and the choices. */
export function choice<T extends string>(
  option: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${option} must be one of ${allowed.join(', ')} (got '${value}')`);
}

/** A whole number of at least `min`; the error names the option and the value. */
export function wholeNumber(option: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${option} must be a whole number ≥ ${min} (got '${value}')`);
  }
  return n;
}
