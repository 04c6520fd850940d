/**
 * A byte-level splitter for CloudTrail log documents: finds the elements of the top-level `Records`
 * array in a stream of decompressed chunks and hands each one to `JSON.parse` on its own, so a
 * 500 MB document is never held as one string or one parsed tree.
 *
 * Why not a streaming JSON parser: measured in toolchain.md §7 they run 4–7× slower than `JSON.parse`,
 * because they build every value in JavaScript. This splitter only tracks what it must to find element
 * boundaries (string/escape state and bracket depth) and leaves the parsing to V8's native parser.
 *
 * Accepted documents: `{"Records": [ … ], …}` (CloudTrail's shape; other top-level keys are skipped)
 * and a bare top-level array `[ … ]` (what `jq '.Records'` or Stratus Red Team's detonation logs give).
 * Offsets are byte offsets into the decompressed document.
 */

/** Why the splitter could not go on, or skipped an element. */
export type SplitIssueKind = 'not-json' | 'no-records' | 'record-not-object' | 'record-not-json' | 'record-too-large';

export interface SplitIssue {
  readonly kind: SplitIssueKind;
  /** Byte offset in the decompressed document. */
  readonly offset: number;
  readonly message: string;
  /** True when the rest of the document cannot be trusted and splitting stopped. */
  readonly fatal: boolean;
}

export interface SplitterSink {
  /** One parsed element of `Records` that is a JSON object, with the offset of its opening brace. */
  record(value: Record<string, unknown>, offset: number): void;
  issue(issue: SplitIssue): void;
}

enum State {
  Start,
  /** Inside the top-level object, expecting a key or `}`. */
  Key,
  /** Inside a top-level key string. */
  KeyString,
  Colon,
  /** Expecting the value of a top-level key. */
  Value,
  /** Skipping the value of a top-level key that is not `Records`. */
  SkipValue,
  /** After a top-level value, expecting `,` or `}`. */
  AfterValue,
  /** Expecting an element or `]`. */
  Element,
  /** Inside an element that is an object (a record). */
  InRecord,
  /** Inside an element that is not an object (skipped). */
  InOther,
  /** After an element, expecting `,` or `]`. */
  AfterElement,
  /** After the document's closing bracket: only whitespace may follow. */
  Done,
  /** A fatal issue was reported; everything else is ignored. */
  Failed,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export interface SplitterOptions {
  /** Elements larger than this are skipped (counted) without being held. CloudTrail caps events at 256 KB. @default 16 MiB */
  readonly maxRecordBytes?: number;
}

export class RecordSplitter {
  private state = State.Start;
  /** True when the document is a bare array (no `Records` key). */
  private topArray = false;
  private sawRecords = false;
  private keyBytes: number[] = [];
  private base = 0;
  // Element/skip scanning state, carried across chunks.
  private depth = 0;
  private inString = false;
  private escaped = false;
  private elementStart = 0;
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private dropping = false;
  private readonly maxRecordBytes: number;

  constructor(
    private readonly sink: SplitterSink,
    options: SplitterOptions = {},
  ) {
    this.maxRecordBytes = options.maxRecordBytes ?? 16 * 1024 * 1024;
  }

  /** Bytes consumed so far (the decompressed offset). */
  get offset(): number {
    return this.base;
  }

  // Records that lie wholly inside the current chunk, parsed together by one JSON.parse at the end of the chunk
  // (or before anything else is reported, so the sink sees records and issues in document order).
  private chunk: Buffer = Buffer.alloc(0);
  private batchStarts: number[] = [];
  private batchEnds: number[] = [];

  /** Feeds the next chunk of the decompressed document. */
  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.chunk = buf;
    const n = buf.length;
    let i = 0;
    while (i < n && this.state !== State.Failed) {
      switch (this.state) {
        case State.InRecord:
          i = this.scanRecord(buf, i, n);
          break;
        case State.InOther:
        case State.SkipValue:
          i = this.scanOther(buf, i, n);
          break;
        default:
          i = this.structural(buf, i);
      }
    }
    this.flushBatch();
    if (this.state === State.InRecord && !this.dropping) this.keepTail(buf, this.elementStart);
    this.elementStart = 0;
    this.base += n;
  }

  private report(issue: SplitIssue): void {
    this.flushBatch();
    this.sink.issue(issue);
  }

  /**
   * Parses the batched records with one `JSON.parse` over `[` + their bytes + `]` (they are separated only by
   * commas and whitespace): one string decode and one parser entry per chunk instead of per record. If the batch
   * does not parse, each record is parsed alone so the bad one is reported with its own offset.
   */
  private flushBatch(): void {
    const starts = this.batchStarts;
    const count = starts.length;
    if (count === 0) return;
    const ends = this.batchEnds;
    const buf = this.chunk;
    this.batchStarts = [];
    this.batchEnds = [];
    if (count > 1) {
      let values: unknown;
      try {
        values = JSON.parse(`[${buf.toString('utf8', starts[0], ends[count - 1])}]`);
      } catch {
        values = undefined;
      }
      if (Array.isArray(values) && values.length === count) {
        for (let j = 0; j < count; j++) this.sink.record(values[j] as Record<string, unknown>, this.base + starts[j]);
        return;
      }
    }
    for (let j = 0; j < count; j++) this.parseOne(buf.toString('utf8', starts[j], ends[j]), this.base + starts[j]);
  }

  private parseOne(text: string, offset: number): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      this.sink.issue({
        kind: 'record-not-json',
        offset,
        message: `record is not valid JSON: ${(e as Error).message}`,
        fatal: false,
      });
      return;
    }
    this.sink.record(value as Record<string, unknown>, offset);
  }

  /** Call once after the last chunk: reports a document that ended early or had no `Records`. */
  end(): void {
    switch (this.state) {
      case State.Done:
      case State.Failed:
        return;
      case State.Start:
        this.fail('no-records', 'empty document: no JSON value');
        return;
      case State.AfterValue:
      case State.Key:
        // The top-level object ended early, but every record seen so far was complete.
        this.fail(this.sawRecords ? 'not-json' : 'no-records', 'document ended before its closing brace');
        return;
      default:
        this.fail('not-json', 'document ended inside the Records array (truncated)');
    }
  }

  private fail(kind: SplitIssueKind, message: string, at = this.base): void {
    this.flushBatch();
    this.state = State.Failed;
    this.parts = [];
    this.report({ kind, offset: at, message, fatal: true });
  }

  /** Handles one structural byte outside elements; returns the next index. */
  private structural(buf: Buffer, i: number): number {
    const c = buf[i];
    const at = this.base + i;
    if (this.state === State.KeyString) {
      if (this.escaped) {
        this.escaped = false;
        this.keyBytes.push(c);
      } else if (c === BACKSLASH) {
        this.escaped = true;
        this.keyBytes.push(c);
      } else if (c === QUOTE) {
        this.state = State.Colon;
      } else if (this.keyBytes.length < 64) {
        this.keyBytes.push(c);
      }
      return i + 1;
    }
    if (isSpace(c)) return i + 1;
    switch (this.state) {
      case State.Start:
        if (c === 0xef && buf[i + 1] === 0xbb && buf[i + 2] === 0xbf) return i + 3; // UTF-8 byte order mark
        if (c === LBRACE) this.state = State.Key;
        else if (c === LBRACKET) {
          this.topArray = true;
          this.sawRecords = true;
          this.state = State.Element;
        } else this.fail('not-json', `expected '{' or '[' at the start of the document, found ${describe(c)}`, at);
        return i + 1;
      case State.Key:
        if (c === QUOTE) {
          this.keyBytes = [];
          this.state = State.KeyString;
        } else if (c === RBRACE) this.finishDocument(at);
        else this.fail('not-json', `expected a key in the top-level object, found ${describe(c)}`, at);
        return i + 1;
      case State.Colon:
        if (c === COLON) this.state = State.Value;
        else this.fail('not-json', `expected ':' after a top-level key, found ${describe(c)}`, at);
        return i + 1;
      case State.Value:
        if (String.fromCharCode(...this.keyBytes) === 'Records') {
          if (c === LBRACKET) {
            this.sawRecords = true;
            this.state = State.Element;
            return i + 1;
          }
          this.recordsProblem = '"Records" is not an array';
        }
        this.startOther(c, State.SkipValue);
        return c === QUOTE || c === LBRACE || c === LBRACKET ? i + 1 : i;
      case State.AfterValue:
        if (c === COMMA) this.state = State.Key;
        else if (c === RBRACE) this.finishDocument(at);
        else this.fail('not-json', `expected ',' or '}' in the top-level object, found ${describe(c)}`, at);
        return i + 1;
      case State.Element:
        if (c === LBRACE) {
          this.state = State.InRecord;
          this.depth = 1;
          this.inString = false;
          this.escaped = false;
          this.elementStart = i;
          this.dropping = false;
          this.recordOffset = at;
          return i + 1;
        }
        if (c === RBRACKET) {
          this.endArray();
          return i + 1;
        }
        this.report({
          kind: 'record-not-object',
          offset: at,
          message: `Records element is ${describeValue(c)}, not an object`,
          fatal: false,
        });
        this.startOther(c, State.InOther);
        return c === QUOTE || c === LBRACKET ? i + 1 : i;
      case State.AfterElement:
        if (c === COMMA) this.state = State.Element;
        else if (c === RBRACKET) this.endArray();
        else this.fail('not-json', `expected ',' or ']' between records, found ${describe(c)}`, at);
        return i + 1;
      case State.Done:
        this.fail('not-json', `unexpected data after the end of the document: ${describe(c)}`, at);
        return i + 1;
      default:
        return i + 1;
    }
  }

  private recordOffset = 0;
  private recordsProblem = 'the document has no "Records" array';
  /** What kind of value is being skipped: a string, an object/array (depth-tracked), or a bare literal. */
  private otherKind: 'string' | 'nested' | 'bare' = 'bare';
  private otherReturn: State = State.AfterValue;

  private startOther(c: number, state: State.SkipValue | State.InOther): void {
    this.otherReturn = state === State.SkipValue ? State.AfterValue : State.AfterElement;
    this.state = state;
    this.inString = false;
    this.escaped = false;
    if (c === QUOTE) {
      this.otherKind = 'string';
      this.inString = true;
    } else if (c === LBRACE || c === LBRACKET) {
      this.otherKind = 'nested';
      this.depth = 1;
    } else {
      this.otherKind = 'bare';
    }
  }

  private endArray(): void {
    if (this.topArray) this.state = State.Done;
    else this.state = State.AfterValue;
  }

  private finishDocument(at: number): void {
    this.state = State.Done;
    if (!this.sawRecords) {
      this.report({ kind: 'no-records', offset: at, message: this.recordsProblem, fatal: true });
      this.state = State.Failed;
    }
  }

  /** Skips a non-record value (a top-level value that is not Records, or a non-object element). */
  private scanOther(buf: Buffer, i: number, n: number): number {
    if (this.otherKind === 'bare') {
      for (; i < n; i++) {
        const c = buf[i];
        if (c === COMMA || c === RBRACE || c === RBRACKET || isSpace(c)) {
          this.state = this.otherReturn;
          return i;
        }
      }
      return n;
    }
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    for (; i < n; i++) {
      const c = buf[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) {
          inString = false;
          if (this.otherKind === 'string') {
            this.state = this.otherReturn;
            return i + 1;
          }
        }
      } else if (c === QUOTE) inString = true;
      else if (c === LBRACE || c === LBRACKET) depth++;
      else if ((c === RBRACE || c === RBRACKET) && --depth === 0) {
        this.state = this.otherReturn;
        return i + 1;
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    return n;
  }

  /**
   * The hot loop: finds the end of the current record, tracking only strings, escapes and depth.
   * String bodies are skipped with `indexOf('"')` (native memchr), then the backslashes before the quote
   * are counted to tell an escaped quote from the closing one.
   */
  private scanRecord(buf: Buffer, i: number, n: number): number {
    let depth = this.depth;
    while (i < n) {
      if (this.inString) {
        // Resume a string that started in an earlier chunk; `escaped` says the previous chunk ended in an odd
        // run of backslashes, so this chunk's first byte is escaped.
        if (this.escaped) {
          this.escaped = false;
          i++;
          continue;
        }
        const end = this.stringEnd(buf, i, n);
        if (end < 0) {
          this.depth = depth;
          return n;
        }
        this.inString = false;
        i = end + 1;
        continue;
      }
      const c = buf[i];
      if (c === QUOTE) {
        this.inString = true;
        i++;
      } else if (c === LBRACE || c === LBRACKET) {
        depth++;
        i++;
      } else if (c === RBRACE || c === RBRACKET) {
        i++;
        if (--depth === 0) {
          this.depth = 0;
          this.emit(buf, i);
          this.state = State.AfterElement;
          return i;
        }
      } else {
        i++;
      }
    }
    this.depth = depth;
    return n;
  }

  /**
   * Index of the quote that closes the string whose body starts at `from`, or -1 when the chunk ends first
   * (then `escaped` records whether the chunk ended in an odd run of backslashes).
   */
  private stringEnd(buf: Buffer, from: number, n: number): number {
    let at = from;
    for (;;) {
      const q = buf.indexOf(QUOTE, at);
      if (q < 0 || q >= n) {
        let run = 0;
        for (let j = n - 1; j >= from && buf[j] === BACKSLASH; j--) run++;
        this.escaped = run % 2 === 1;
        return -1;
      }
      let run = 0;
      for (let j = q - 1; j >= from && buf[j] === BACKSLASH; j--) run++;
      if (run % 2 === 0) return q;
      at = q + 1;
    }
  }

  private keepTail(buf: Buffer, from: number): void {
    const size = buf.length - from;
    if (this.partsBytes + size > this.maxRecordBytes) {
      this.dropping = true;
      this.parts = [];
      this.partsBytes = 0;
      return;
    }
    // Copied: the producer may reuse its buffer for the next chunk.
    this.parts.push(Buffer.from(buf.subarray(from)));
    this.partsBytes += size;
  }

  private emit(buf: Buffer, end: number): void {
    const offset = this.recordOffset;
    if (this.dropping) {
      this.dropping = false;
      this.report({
        kind: 'record-too-large',
        offset,
        message: `record larger than ${this.maxRecordBytes} bytes skipped`,
        fatal: false,
      });
      return;
    }
    if (this.parts.length > 0) {
      const size = this.partsBytes + end;
      if (size > this.maxRecordBytes) {
        this.parts = [];
        this.partsBytes = 0;
        this.report({
          kind: 'record-too-large',
          offset,
          message: `record of ${size} bytes skipped (limit ${this.maxRecordBytes})`,
          fatal: false,
        });
        return;
      }
      this.parts.push(buf.subarray(0, end));
      const text = Buffer.concat(this.parts).toString('utf8');
      this.parts = [];
      this.partsBytes = 0;
      this.flushBatch();
      this.parseOne(text, offset);
      return;
    }
    if (end - this.elementStart > this.maxRecordBytes) {
      this.report({
        kind: 'record-too-large',
        offset,
        message: `record of ${end - this.elementStart} bytes skipped (limit ${this.maxRecordBytes})`,
        fatal: false,
      });
      return;
    }
    this.batchStarts.push(this.elementStart);
    this.batchEnds.push(end);
  }
}

function describe(c: number): string {
  return c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
}

function describeValue(c: number): string {
  if (c === QUOTE) return 'a string';
  if (c === LBRACKET) return 'an array';
  if (c === 0x6e) return 'null';
  if (c === 0x74 || c === 0x66) return 'a boolean';
  return 'a number';
}
