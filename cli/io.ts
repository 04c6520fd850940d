/** The CLI's view of the outside world, injectable so commands are testable without spawning a process. */
export interface CliIo {
  /** Results only (tables, JSON, JSONL). */
  stdout(text: string): void;
  /** Logs, warnings and progress. */
  stderr(text: string): void;
  /** True when stderr is a terminal, so a progress bar may redraw in place. */
  readonly stderrIsTty: boolean;
}

export interface CliCommand {
  /** One line for the command list. */
  readonly summary: string;
  /** Runs the command and returns the process exit code. */
  run(argv: string[], io: CliIo): Promise<number>;
}

export function defaultIo(): CliIo {
  return {
    stdout: (text) => {
      process.stdout.write(text);
    },
    stderr: (text) => {
      process.stderr.write(text);
    },
    stderrIsTty: Boolean(process.stderr.isTTY),
  };
}

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
    io.stderr(`trailsight ${name}: ${(e as Error).message}\n\n${text}`);
    return 2;
  }
  if (parsed.values.help) {
    io.stdout(text);
    return 0;
  }
  return parsed;
}
