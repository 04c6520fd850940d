/**
 * `trailsight` command line: the same core as the Lambdas, through local adapters.
 *
 * Each sub-command lives in `cli/commands/<name>.ts` and exports `command: CliCommand`.
 * Stdout carries results only (tables, JSON, JSONL); logs and progress go to stderr.
 */
import { version } from '../package.json';
import type { CliCommand, CliIo } from './io';
import { defaultIo, EXIT } from './io';

/** Lazily loaded so `trailsight summary` never pays for DuckDB, and `query` never for the detector. */
const COMMANDS: Record<string, () => Promise<CliCommand>> = {
  // require, not import(): under the tsx CJS hook a dynamic import() of a .ts module does not resolve on Node 20.
  detect: async () => (require('./commands/detect') as typeof import('./commands/detect')).command,
  summary: async () => (require('./commands/summary') as typeof import('./commands/summary')).command,
  query: async () => (require('./commands/query') as typeof import('./commands/query')).command,
  rules: async () => (require('./commands/rules') as typeof import('./commands/rules')).command,
  verify: async () => (require('./commands/verify') as typeof import('./commands/verify')).command,
  findings: async () => (require('./commands/findings') as typeof import('./commands/findings')).command,
  report: async () => (require('./commands/report') as typeof import('./commands/report')).command,
  index: async () => (require('./commands/index') as typeof import('./commands/index')).command,
};

function usage(): string {
  const names = Object.keys(COMMANDS).sort();
  return [
    'usage: trailsight <command> [options]',
    '',
    'commands:',
    ...names.map((n) => `  ${n}`),
    '',
    'Run `trailsight <command> --help` for the options of one command; `trailsight --version` for the version.',
    'Exit status: 0 complete, 1 partial result or failure (details on stderr), 2 bad usage.',
  ].join('\n');
}

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    io.stdout(`${usage()}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === '-v') {
    io.stdout(`${version}\n`);
    return EXIT.ok;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.stderr(`trailsight: unknown command '${name}'\n\n${usage()}\n`);
    return EXIT.usage;
  }
  const command = await load();
  return command.run(rest, io);
}
