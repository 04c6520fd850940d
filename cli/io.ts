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
