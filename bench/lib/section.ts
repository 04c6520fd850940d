/**
 * A section of `npm run bench`: one module in bench/lib/sections/ that measures one thing against a baseline
 * measured in the same run and prints its table and verdicts. bench/run.ts runs them in order; `--only` and
 * `--skip` take section names.
 */
export interface BenchContext {
  /** The repository. */
  readonly root: string;
  /** Where generated inputs live (git-ignored `.bench/`). */
  readonly benchDir: string;
  /** The real public data (`../shared/data`). */
  readonly dataDir: string;
  /** Progress and notes, on stderr. */
  log(text: string): void;
}

export interface BenchSection {
  /** The name `--only`/`--skip` take. */
  readonly name: string;
  /** One line saying what is measured against what. */
  readonly title: string;
  run(context: BenchContext): Promise<void>;
}
