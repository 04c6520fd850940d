/**
 * Sigma conditions: `selection and not 1 of filter_*`, `(a or b) and all of sel*`, `1 of them`.
 *
 * Grammar (Sigma rules specification, "Condition"; precedence from least to most binding: or, and, not,
 * x of, parentheses):
 *
 *     expr    := andExpr ('or' andExpr)*
 *     andExpr := unary ('and' unary)*
 *     unary   := 'not' unary | primary
 *     primary := '(' expr ')' | ('1' | 'any' | 'all') 'of' (pattern | 'them') | identifier
 *
 * Hand-written because it is small and no maintained JavaScript Sigma library exists to reuse (the maintained
 * implementations are pySigma in Python and sigma-rust). Aggregations (`| count() by …`, the Sigma 1 form of
 * correlation) are rejected with a clear message rather than ignored.
 */

export type ConditionNode =
  | { readonly kind: 'ref'; readonly name: string }
  | { readonly kind: 'not'; readonly operand: ConditionNode }
  | { readonly kind: 'and' | 'or'; readonly operands: readonly ConditionNode[] };

/** A condition that cannot be used; the message names the problem and the position. */
export class ConditionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConditionError';
  }
}

interface Token {
  readonly text: string;
  readonly at: number;
}

const TOKEN = /\s*(\(|\)|\||[^\s()|]+)/y;

function tokenize(condition: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  for (;;) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(condition);
    if (!m) {
      if (condition.slice(at).trim() !== '') throw new ConditionError(`cannot read the condition at ${at}`);
      return tokens;
    }
    tokens.push({ text: m[1], at: m.index + m[0].length - m[1].length });
  }
}

const IDENTIFIER = /^[A-Za-z0-9_*.-]+$/;

function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Parses a condition against the rule's search identifiers. `1 of x*` and `all of x*` become `or`/`and` over the
 * identifiers they match (so the result only has references), which is how they are evaluated and indexed.
 */
export function parseCondition(condition: string, identifiers: readonly string[]): ConditionNode {
  const tokens = tokenize(condition);
  let pos = 0;
  const peek = (): string | undefined => tokens[pos]?.text;
  const where = (): string => (pos < tokens.length ? `at ${tokens[pos].at} ('${tokens[pos].text}')` : 'at the end');
  const keyword = (word: string): boolean => peek()?.toLowerCase() === word;

  function expr(): ConditionNode {
    const operands = [andExpr()];
    while (keyword('or')) {
      pos++;
      operands.push(andExpr());
    }
    return operands.length === 1 ? operands[0] : { kind: 'or', operands };
  }

  function andExpr(): ConditionNode {
    const operands = [unary()];
    while (keyword('and')) {
      pos++;
      operands.push(unary());
    }
    return operands.length === 1 ? operands[0] : { kind: 'and', operands };
  }

  function unary(): ConditionNode {
    if (keyword('not')) {
      pos++;
      return { kind: 'not', operand: unary() };
    }
    return primary();
  }

  function primary(): ConditionNode {
    const text = peek();
    if (text === undefined) throw new ConditionError(`the condition ends where a search identifier is expected`);
    if (text === '|') {
      throw new ConditionError(
        `aggregation ('| count() …') ${where()}: Sigma 1 correlations are not supported (write a Sigma correlation rule, or use the anomaly detectors)`,
      );
    }
    if (text === '(') {
      pos++;
      const inner = expr();
      if (peek() !== ')') throw new ConditionError(`expected ')' ${where()}`);
      pos++;
      return inner;
    }
    const quantifier = text.toLowerCase();
    if ((quantifier === '1' || quantifier === 'any' || quantifier === 'all') && tokens[pos + 1]?.text === 'of') {
      pos += 2;
      const target = peek();
      if (target === undefined || !IDENTIFIER.test(target)) {
        throw new ConditionError(`expected a search-identifier pattern or 'them' after '${text} of' ${where()}`);
      }
      pos++;
      const names =
        target === 'them'
          ? identifiers.filter((id) => !id.startsWith('_'))
          : identifiers.filter((id) => globToRegExp(target).test(id));
      if (names.length === 0) throw new ConditionError(`'${text} of ${target}' matches no search identifier`);
      const operands = names.map((name): ConditionNode => ({ kind: 'ref', name }));
      if (operands.length === 1) return operands[0];
      return { kind: quantifier === 'all' ? 'and' : 'or', operands };
    }
    if (!IDENTIFIER.test(text) || ['and', 'or', 'not', 'of', ')'].includes(quantifier)) {
      throw new ConditionError(`expected a search identifier ${where()}`);
    }
    if (!identifiers.includes(text)) throw new ConditionError(`unknown search identifier '${text}'`);
    pos++;
    return { kind: 'ref', name: text };
  }

  const root = expr();
  if (pos < tokens.length) {
    if (peek() === '|') primary(); // throws the aggregation message
    throw new ConditionError(`unexpected '${peek()}' ${where()}`);
  }
  return root;
}

/** Every search identifier the condition uses. */
export function referencedIdentifiers(node: ConditionNode, out = new Set<string>()): Set<string> {
  if (node.kind === 'ref') out.add(node.name);
  else if (node.kind === 'not') referencedIdentifiers(node.operand, out);
  else for (const o of node.operands) referencedIdentifiers(o, out);
  return out;
}
