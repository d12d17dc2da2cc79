/**
 * Reading a spec file's YAML without letting a hostile or broken file crash or stall the loader: a
 * size limit checked before reading, a nesting limit checked while parsing (the YAML composer
 * recurses once per level and overflows the stack at a few hundred), and a limit on what aliases
 * expand to (nested aliases, the "billion laughs", grow exponentially). Every problem is a SpecError
 * naming the file and, where there is one, the line and column.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { Composer, type CST, type Document, isAlias, isCollection, isPair, isScalar, Lexer, LineCounter, Parser } from 'yaml';
import { SpecError, type SpecLocation } from '../errors.js';

/** Largest spec file read. A sweep spec is a page of YAML; 1 MB leaves room for long descriptions. */
export const MAX_SPEC_BYTES = 1024 * 1024;
/** Deepest nesting of collections. A spec needs about 6 (grid → loss → focal → gamma → list). */
export const MAX_YAML_DEPTH = 64;
/** Most values that all aliases of a spec may expand to together. */
export const MAX_ALIAS_EXPANSION = 10_000;
/**
 * Most anchors and aliases. yaml resolves each alias by scanning every anchor and alias before it,
 * so their number must be bounded too: 60,000 anchors and 10,000 aliases took 47 s.
 */
export const MAX_ANCHORS_AND_ALIASES = 1_000;

const fmtInt = (n: number): string => n.toLocaleString('en-US');

/** The text of a spec file; refuses a missing file, a folder, and a file over {@link MAX_SPEC_BYTES}. */
export function readSpecFile(file: string): string {
  if (!existsSync(file)) throw new SpecError({ file }, 'no such file');
  const stat = statSync(file);
  if (stat.isDirectory()) throw new SpecError({ file }, 'is a folder, not a spec file');
  if (stat.size > MAX_SPEC_BYTES) throw tooLarge(file, stat.size);
  const text = readFileSync(file, 'utf8');
  // a special file (a pipe) has no size before it is read
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_SPEC_BYTES) throw tooLarge(file, bytes);
  return text;
}

function tooLarge(file: string, bytes: number): SpecError {
  return new SpecError({ file }, `file too large: ${fmtInt(bytes)} bytes (a spec file may be at most 1 MB, ${fmtInt(MAX_SPEC_BYTES)} bytes)`);
}

export interface ParsedYaml {
  doc: Document.Parsed;
  lines: LineCounter;
  /** The document as plain JS values (aliases resolved). */
  value: unknown;
}

/** Parse one YAML document; any syntax error, excessive nesting or alias expansion is a SpecError. */
export function parseSpecYaml(text: string, file: string): ParsedYaml {
  const lines = new LineCounter();
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return { file, line, col };
  };

  const parser = new Parser(lines.addNewLine);
  // The CST parser keeps its own stack (no recursion), so its depth is checked at every token,
  // long before the composer would recurse that deep.
  function* tokens() {
    lines.addNewLine(0);
    for (const lexeme of new Lexer().lex(text)) {
      yield* parser.next(lexeme);
      if (parser.stack.length > MAX_YAML_DEPTH && collectionDepth(parser.stack) > MAX_YAML_DEPTH) {
        throw new SpecError(at(parser.offset), `YAML: nested deeper than ${MAX_YAML_DEPTH} levels`);
      }
    }
    yield* parser.end();
  }
  const composer = new Composer({ uniqueKeys: true });
  let doc: Document.Parsed | null = null;
  let second: Document.Parsed | null = null;
  for (const d of composer.compose(tokens(), true, text.length)) {
    if (!doc) doc = d;
    else {
      second = d;
      break;
    }
  }
  if (!doc) throw new Error('the YAML composer returned no document');

  const err = doc.errors[0];
  if (err) {
    let msg = err.message.split('\n')[0];
    if (err.code === 'DUPLICATE_KEY') {
      const key = /^[^\s:]+/.exec(text.slice(err.pos[0]))?.[0];
      msg = `duplicate key${key ? ` ${key}` : ''} (each key may appear once in a mapping)`;
    }
    throw new SpecError(err.pos[0] >= 0 ? at(err.pos[0]) : { file }, `YAML: ${msg}`);
  }
  if (second) throw new SpecError(at(second.range[0]), 'YAML: more than one document (a spec is one mapping; remove the --- line)');
  checkAliases(doc, at);
  // checkAliases bounds what the aliases expand to, so yaml's own (stricter, differently counted) limit is off
  return { doc, lines, value: doc.toJS({ maxAliasCount: -1 }) };
}

/** Open collections on the parser's stack (it also holds the document and scalars). */
function collectionDepth(stack: readonly CST.Token[]): number {
  let n = 0;
  for (const t of stack) if (t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection') n++;
  return n;
}

/**
 * Counts the values every alias expands to, in document order (an anchor always comes before its
 * aliases, so each target's size is known when an alias is met), and refuses unknown aliases.
 * Recursion is bounded by {@link MAX_YAML_DEPTH}.
 */
function checkAliases(doc: Document.Parsed, at: (offset: number) => SpecLocation): void {
  const anchors = new Map<string, unknown>();
  const sizes = new Map<unknown, number>();
  let expanded = 0;
  let marks = 0;
  const countMark = (node: { range?: readonly number[] | null }) => {
    if (++marks > MAX_ANCHORS_AND_ALIASES) {
      throw new SpecError(at(node.range?.[0] ?? 0), `YAML: too many anchors and aliases (over the limit of ${fmtInt(MAX_ANCHORS_AND_ALIASES)})`);
    }
  };
  const size = (node: unknown): number => {
    if (node === null || node === undefined) return 0;
    if (isAlias(node)) {
      countMark(node);
      const target = anchors.get(node.source);
      if (target === undefined)
        throw new SpecError(at(node.range?.[0] ?? 0), `YAML: unknown alias *${node.source} (its anchor &${node.source} must come first)`);
      // an alias inside its own anchor (a cycle) is one value
      const n = sizes.get(target) ?? 1;
      expanded += n;
      if (expanded > MAX_ALIAS_EXPANSION) {
        throw new SpecError(at(node.range?.[0] ?? 0), `YAML: too many alias expansions (over the limit of ${fmtInt(MAX_ALIAS_EXPANSION)} values)`);
      }
      return n;
    }
    if (isPair(node)) return size(node.key) + size(node.value);
    if (isScalar(node) || isCollection(node)) {
      if (node.anchor) {
        countMark(node);
        anchors.set(node.anchor, node);
      }
      let n = 1;
      if (isCollection(node)) for (const item of node.items) n += size(item);
      sizes.set(node, n);
      return n;
    }
    return 0;
  };
  size(doc.contents);
}
