/**
 * Progress of a long local read on stderr, the same for `summary` and `detect`: a bar redrawn in place (at most
 * ten times a second) when stderr is a terminal, nothing while reading otherwise, so logs stay readable; the
 * command prints its own closing line.
 */
import type { CliIo } from './io';

export class Progress {
  private bytes = 0;
  private files = 0;
  private events = 0;
  private lastDraw = 0;
  private drawn = false;
  readonly started = Date.now();

  private totalBytes: number | undefined;

  /** `total`: the bytes to read, asked only if a bar is drawn (it may need a `stat` per file). */
  constructor(
    private readonly io: CliIo,
    private readonly total: () => number,
  ) {}

  /** Bytes read and events of the file just read. */
  advance(bytes: number, events: number): void {
    this.bytes += bytes;
    this.files++;
    this.events += events;
    if (!this.io.stderrIsTty) return;
    this.totalBytes ??= this.total();
    const now = Date.now();
    if (now - this.lastDraw < 100 && this.bytes < this.totalBytes) return;
    this.lastDraw = now;
    this.drawn = true;
    const share = this.totalBytes > 0 ? Math.min(1, this.bytes / this.totalBytes) : 1;
    const width = 24;
    const filled = Math.round(share * width);
    this.io.stderr(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${this.files} files  ${this.events} events`,
    );
  }

  /** A warning line, under the bar if one is drawn. */
  warn(text: string): void {
    this.io.stderr(`${this.clearing()}${text}\n`);
  }

  /** Seconds since the start, with one decimal. */
  get seconds(): string {
    return ((Date.now() - this.started) / 1000).toFixed(1);
  }

  /** Megabytes read so far, with one decimal. */
  get megabytes(): string {
    return (this.bytes / 1024 / 1024).toFixed(1);
  }

  /** Erases the bar; the command's closing line comes next. */
  end(): void {
    const clear = this.clearing();
    if (clear) this.io.stderr(clear);
    this.drawn = false;
  }

  private clearing(): string {
    return this.io.stderrIsTty && this.drawn ? '\r\x1b[K' : '';
  }
}
