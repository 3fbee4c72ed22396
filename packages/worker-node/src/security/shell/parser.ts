import {
  literalWord,
  type CompoundCommand,
  type FunctionDefinition,
  type ShellCommand,
  type ShellDialect,
  type ShellList,
  type ShellPipeline,
  type ShellRedirect,
  type ShellStatement,
  type ShellWord,
  type SimpleCommand,
} from "./ast.js";

/**
 * A structural parser for the shell lines jobs send: it finds every command word, nested list and
 * redirect, in the POSIX dialect `/bin/sh` (dash) speaks or in bash's.
 *
 * Why our own: sh-syntax (mvdan/sh compiled to WASM) is the authority on what is valid shell, but
 * its JavaScript binding returns only the top-level statements' positions, not the tree below them.
 * So this parser builds the tree, and `syntax.ts` makes mvdan/sh confirm it: the statement
 * boundaries of every list found here must be the ones mvdan/sh finds in the same text. Anything this
 * parser does not understand is a ShellParseError, which the policy turns into a denial (fail closed).
 */
export class ShellParseError extends Error {
  override readonly name = "ShellParseError";
  constructor(
    message: string,
    /** Offset into the text that was being parsed (a backquoted body has its own text). */
    readonly offset: number,
    /** The text is too deeply nested to analyse, as opposed to a construct this parser does not know. */
    readonly tooComplex = false,
  ) {
    super(message);
  }
}

export function parseShellScript(source: string, dialect: ShellDialect): ShellList {
  return new Parser(source, dialect, 0, source.length, 0).script();
}

/** Deeper nesting than this is refused; it also keeps the recursion far from the stack limit. */
const MAX_NESTING = 64;

/** Characters that end an unquoted word. */
const METACHARACTERS = " \t\n;&|()<>";
const QUOTING = "'\"\\$`";

const POSIX_RESERVED = ["if", "then", "elif", "else", "fi", "do", "done", "case", "esac", "while", "until", "for", "{", "}", "!"];
const RESERVED: Record<ShellDialect, ReadonlySet<string>> = {
  posix: new Set(POSIX_RESERVED),
  bash: new Set([...POSIX_RESERVED, "function", "select", "time", "[[", "coproc"]),
};

/** Builtins whose `name=(...)` arguments bash parses as array assignments. */
const DECLARATION_BUILTINS = new Set(["declare", "typeset", "local", "export", "readonly"]);

const ASSIGNMENT: Record<ShellDialect, RegExp> = {
  posix: /^[A-Za-z_][A-Za-z0-9_]*=/,
  bash: /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/,
};

/** Longest operators first; `{fd}>` and the `&>`/`<<<` forms are bash only. */
const REDIRECT: Record<ShellDialect, RegExp> = {
  posix: /(\d*)(<<-|<<|<>|<&|<|>>|>\||>&|>)/y,
  bash: /(\d*|\{[A-Za-z_][A-Za-z0-9_]*\})(<<<|<<-|<<|<>|<&|<|>>|>\||>&|>|&>>|&>)/y,
};

const THEN = new Set(["then"]);
const ELSE_BRANCH = new Set(["elif", "else", "fi"]);
const FI = new Set(["fi"]);
const DO = new Set(["do"]);
const DONE = new Set(["done"]);
const CLOSE_BRACE = new Set(["}"]);

interface Stop {
  readonly paren?: boolean;
  readonly words?: ReadonlySet<string>;
  readonly caseItem?: boolean;
}

interface PendingHeredoc {
  readonly redirect: { heredoc?: ShellWord };
  readonly delimiter: string;
  readonly stripTabs: boolean;
  readonly quoted: boolean;
}

/** Collects one word: its literal value while it stays static, its shape, and its substitutions. */
class WordBuilder {
  literal = "";
  shape = "";
  dynamic = false;
  expands = false;
  readonly substitutions: ShellList[] = [];

  text(value: string): void {
    this.literal += value;
    this.shape += value;
  }

  expansion(raw: string): void {
    this.dynamic = true;
    this.shape += raw;
  }

  build(start: number, raw: string): ShellWord {
    return {
      start,
      raw,
      literal: this.dynamic ? undefined : this.literal,
      shape: this.shape,
      expands: this.expands,
      substitutions: this.substitutions,
    };
  }
}

class Parser {
  private pos: number;
  private pending: PendingHeredoc[] = [];
  private readonly reserved: ReadonlySet<string>;
  private readonly bash: boolean;

  constructor(
    private readonly src: string,
    private readonly dialect: ShellDialect,
    start: number,
    private readonly limit: number,
    private depth: number,
  ) {
    this.pos = start;
    this.reserved = RESERVED[dialect];
    this.bash = dialect === "bash";
  }

  script(): ShellList {
    const list = this.list({});
    if (this.pos < this.limit) throw this.error(`unexpected ${JSON.stringify(this.ch())}`);
    if (this.pending.length > 0) throw this.error("unclosed here-document");
    return list;
  }

  // ---- characters

  private ch(ahead = 0): string {
    const at = this.pos + ahead;
    return at < this.limit ? (this.src[at] as string) : "";
  }

  private startsWith(text: string): boolean {
    return this.pos + text.length <= this.limit && this.src.startsWith(text, this.pos);
  }

  private error(message: string): ShellParseError {
    return new ShellParseError(message, this.pos);
  }

  private nested<T>(parse: () => T): T {
    if (++this.depth > MAX_NESTING) throw new ShellParseError(`nesting deeper than ${MAX_NESTING} levels`, this.pos, true);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private skipBlanks(): void {
    for (;;) {
      const c = this.ch();
      if (c === " " || c === "\t") this.pos++;
      else if (c === "\\" && this.ch(1) === "\n") this.pos += 2;
      else return;
    }
  }

  private skipComment(): void {
    if (this.ch() !== "#") return;
    while (this.pos < this.limit && this.src[this.pos] !== "\n") this.pos++;
  }

  /** Blanks, comments and newlines; here-document bodies are read at each newline. */
  private skipLinebreaks(): void {
    for (;;) {
      this.skipBlanks();
      this.skipComment();
      if (this.ch() !== "\n") return;
      this.pos++;
      this.readHeredocs();
    }
  }

  /** The reserved word at the cursor, if the next token is one (quoted or joined text is not). */
  private reservedWord(): string | undefined {
    let end = this.pos;
    while (end < this.limit && !METACHARACTERS.includes(this.src[end] as string) && !QUOTING.includes(this.src[end] as string)) end++;
    if (end === this.pos) return undefined;
    if (end < this.limit && !METACHARACTERS.includes(this.src[end] as string)) return undefined;
    const word = this.src.slice(this.pos, end);
    return this.reserved.has(word) ? word : undefined;
  }

  private expectReserved(word: string): void {
    this.skipLinebreaks();
    if (this.reservedWord() !== word) throw this.error(`expected \`${word}\``);
    this.pos += word.length;
  }

  private atStop(stop: Stop): boolean {
    if (stop.paren && this.ch() === ")") return true;
    if (stop.caseItem && (this.startsWith(";;") || (this.bash && this.startsWith(";&")) || this.reservedWord() === "esac")) return true;
    const word = stop.words ? this.reservedWord() : undefined;
    return word !== undefined && (stop.words?.has(word) ?? false);
  }

  // ---- lists, statements, pipelines

  private list(stop: Stop): ShellList {
    return this.nested(() => {
      const start = this.pos;
      const statements: ShellStatement[] = [];
      for (;;) {
        this.skipLinebreaks();
        if (this.pos >= this.limit || this.atStop(stop)) break;
        statements.push(this.statement(stop));
      }
      return { source: this.src, start, end: this.pos, statements };
    });
  }

  private statement(stop: Stop): ShellStatement {
    const start = this.pos;
    const pipelines = [this.pipeline()];
    for (;;) {
      this.skipBlanks();
      if (!this.startsWith("&&") && !this.startsWith("||")) break;
      this.pos += 2;
      this.skipLinebreaks();
      pipelines.push(this.pipeline());
    }
    let background = false;
    if (this.ch() === "&") {
      this.pos++;
      background = true;
    } else if (this.ch() === ";" && this.ch(1) !== ";" && this.ch(1) !== "&") {
      this.pos++;
    } else {
      this.skipComment();
      if (!(this.pos >= this.limit || this.ch() === "\n" || this.atStop(stop))) throw this.error(`unexpected ${JSON.stringify(this.ch())}`);
    }
    return { start, pipelines, background };
  }

  private pipeline(): ShellPipeline {
    let negated = false;
    for (;;) {
      this.skipBlanks();
      const word = this.reservedWord();
      if (word === "!") {
        negated = !negated;
        this.pos++;
      } else if (word === "time") {
        this.pos += word.length;
        this.skipBlanks();
        if (this.startsWith("-p") && METACHARACTERS.includes(this.ch(2) || " ")) this.pos += 2;
      } else {
        break;
      }
    }
    const commands = [this.command()];
    for (;;) {
      this.skipBlanks();
      if (this.ch() !== "|" || this.ch(1) === "|") break;
      this.pos += this.bash && this.ch(1) === "&" ? 2 : 1;
      this.skipLinebreaks();
      commands.push(this.command());
    }
    return { negated, commands };
  }

  // ---- commands

  private command(): ShellCommand {
    return this.nested(() => {
      this.skipBlanks();
      const start = this.pos;
      if (this.ch() === "(") {
        if (this.bash && this.ch(1) === "(") {
          this.pos += 2;
          return this.compound("((", start, [], [this.arithmeticWord(start)]);
        }
        this.pos++;
        const body = this.list({ paren: true });
        if (this.ch() !== ")") throw this.error("expected `)`");
        this.pos++;
        return this.compound("(", start, [body], []);
      }
      const word = this.reservedWord();
      if (word === undefined) return this.simpleCommand();
      this.pos += word.length;
      switch (word) {
        case "{": {
          const body = this.list({ words: CLOSE_BRACE });
          this.expectReserved("}");
          return this.compound("{", start, [body], []);
        }
        case "if":
          return this.ifClause(start);
        case "while":
        case "until": {
          const condition = this.list({ words: DO });
          this.expectReserved("do");
          const body = this.list({ words: DONE });
          this.expectReserved("done");
          return this.compound(word, start, [condition, body], []);
        }
        case "for":
        case "select":
          return this.forClause(word, start);
        case "case":
          return this.caseClause(start);
        case "function":
          return this.functionKeyword(start);
        case "[[":
          return this.testClause(start);
        default:
          // `coproc` and misplaced keywords (`then`, `fi`, `}`...).
          throw new ShellParseError(`\`${word}\` is not supported here`, start);
      }
    });
  }

  private compound(keyword: string, start: number, bodies: ShellList[], words: ShellWord[]): CompoundCommand {
    return { kind: "compound", keyword, start, bodies, words, redirects: this.trailingRedirects() };
  }

  private trailingRedirects(): ShellRedirect[] {
    const redirects: ShellRedirect[] = [];
    for (;;) {
      this.skipBlanks();
      const redirect = this.redirect();
      if (!redirect) return redirects;
      redirects.push(redirect);
    }
  }

  private ifClause(start: number): CompoundCommand {
    const bodies: ShellList[] = [];
    for (;;) {
      bodies.push(this.list({ words: THEN }));
      this.expectReserved("then");
      bodies.push(this.list({ words: ELSE_BRANCH }));
      this.skipLinebreaks();
      const next = this.reservedWord();
      this.pos += next?.length ?? 0;
      if (next === "elif") continue;
      if (next === "else") {
        bodies.push(this.list({ words: FI }));
        this.expectReserved("fi");
      } else if (next !== "fi") {
        throw this.error("expected `fi`");
      }
      return this.compound("if", start, bodies, []);
    }
  }

  private forClause(keyword: string, start: number): CompoundCommand {
    this.skipBlanks();
    const words: ShellWord[] = [];
    if (keyword === "for" && this.bash && this.startsWith("((")) {
      this.pos += 2;
      words.push(this.arithmeticWord(start));
      this.skipBlanks();
      if (this.ch() === ";") this.pos++;
    } else {
      const name = this.requiredWord();
      if (name.literal === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name.literal)) throw this.error("expected a loop variable name");
      this.skipBlanks();
      if (this.ch() === ";") this.pos++;
      this.skipLinebreaks();
      if (this.reservedWord() === undefined && this.startsWith("in") && METACHARACTERS.includes(this.ch(2) || " ")) {
        this.pos += 2;
        for (;;) {
          this.skipBlanks();
          this.skipComment();
          const c = this.ch();
          if (c === "" || c === "\n" || c === ";") break;
          words.push(this.requiredWord());
        }
        if (this.ch() === ";") this.pos++;
      }
    }
    this.skipLinebreaks();
    if (this.bash && this.reservedWord() === "{") {
      this.pos++;
      const body = this.list({ words: CLOSE_BRACE });
      this.expectReserved("}");
      return this.compound(keyword, start, [body], words);
    }
    this.expectReserved("do");
    const body = this.list({ words: DONE });
    this.expectReserved("done");
    return this.compound(keyword, start, [body], words);
  }

  private caseClause(start: number): CompoundCommand {
    this.skipBlanks();
    const words = [this.requiredWord()];
    this.skipLinebreaks();
    if (!(this.startsWith("in") && METACHARACTERS.includes(this.ch(2) || " "))) throw this.error("expected `in`");
    this.pos += 2;
    const bodies: ShellList[] = [];
    for (;;) {
      this.skipLinebreaks();
      if (this.reservedWord() === "esac") {
        this.pos += 4;
        return this.compound("case", start, bodies, words);
      }
      if (this.ch() === "(") this.pos++;
      for (;;) {
        this.skipBlanks();
        words.push(this.requiredWord());
        this.skipBlanks();
        if (this.ch() !== "|") break;
        this.pos++;
      }
      if (this.ch() !== ")") throw this.error("expected `)` after a case pattern");
      this.pos++;
      bodies.push(this.list({ caseItem: true }));
      for (const terminator of [";;&", ";;", ";&"]) {
        if (this.startsWith(terminator) && (this.bash || terminator === ";;")) {
          this.pos += terminator.length;
          break;
        }
      }
    }
  }

  private functionKeyword(start: number): FunctionDefinition {
    this.skipBlanks();
    const name = this.requiredWord();
    if (name.literal === undefined) throw this.error("expected a function name");
    this.skipBlanks();
    if (this.ch() === "(") {
      this.pos++;
      this.skipBlanks();
      if (this.ch() !== ")") throw this.error("expected `)`");
      this.pos++;
    }
    return this.functionBody(start, name.literal);
  }

  private functionBody(start: number, name: string): FunctionDefinition {
    this.skipLinebreaks();
    return { kind: "function", start, name, body: this.command() };
  }

  /** `[[ ... ]]`: words and operators up to `]]`; only the words' substitutions can run commands. */
  private testClause(start: number): CompoundCommand {
    const words: ShellWord[] = [];
    let previous = "";
    for (;;) {
      this.skipLinebreaks();
      const c = this.ch();
      if (c === "") throw this.error("expected `]]`");
      if (this.startsWith("]]") && METACHARACTERS.includes(this.ch(2) || " ")) {
        this.pos += 2;
        return this.compound("[[", start, [], words);
      }
      if (this.startsWith("&&") || this.startsWith("||")) {
        this.pos += 2;
      } else if ("()<>".includes(c) || (c === "!" && METACHARACTERS.includes(this.ch(1) || " "))) {
        this.pos++;
      } else {
        const word = this.requiredWord({ regex: previous === "=~" });
        previous = word.raw;
        words.push(word);
      }
    }
  }

  private simpleCommand(): SimpleCommand | FunctionDefinition {
    const start = this.pos;
    const assignments: ShellWord[] = [];
    const words: ShellWord[] = [];
    const redirects: ShellRedirect[] = [];
    for (;;) {
      this.skipBlanks();
      const c = this.ch();
      if (c === "" || c === "\n" || c === ";" || c === "|" || c === ")") break;
      if (c === "&" && !(this.bash && this.ch(1) === ">")) break;
      if (c === "#") {
        this.skipComment();
        break;
      }
      const redirect = this.redirect();
      if (redirect) {
        redirects.push(redirect);
        continue;
      }
      if (c === "(") {
        const name = words[0]?.literal;
        if (words.length === 1 && assignments.length === 0 && redirects.length === 0 && name) {
          this.pos++;
          this.skipBlanks();
          if (this.ch() !== ")") throw this.error("expected `)` in a function definition");
          this.pos++;
          return this.functionBody(start, name);
        }
        throw this.error('unexpected "("');
      }
      const declaration = words.length === 0 || DECLARATION_BUILTINS.has(words[0]?.literal ?? "");
      const word = this.word({ assignment: declaration });
      if (words.length === 0 && ASSIGNMENT[this.dialect].test(word.raw)) assignments.push(word);
      else words.push(word);
    }
    if (assignments.length + words.length + redirects.length === 0) throw this.error("expected a command");
    return { kind: "simple", start, assignments, words, redirects };
  }

  // ---- redirects and here-documents

  private redirect(): ShellRedirect | undefined {
    const pattern = REDIRECT[this.dialect];
    pattern.lastIndex = this.pos;
    const match = pattern.exec(this.src);
    if (!match || match.index + match[0].length > this.limit) return undefined;
    const op = match[2] as string;
    const after = match.index + match[0].length;
    // `<(...)` and `>(...)` are process substitutions, not redirects.
    if (this.bash && (op === "<" || op === ">") && this.src[after] === "(" && match[1] === "") return undefined;
    this.pos = after;
    this.skipBlanks();
    const target = this.requiredWord();
    const redirect: { op: string; target: ShellWord; heredoc?: ShellWord } = { op, target };
    if (op === "<<" || op === "<<-") {
      this.pending.push({ redirect, delimiter: heredocDelimiter(target.raw), stripTabs: op === "<<-", quoted: /['"\\]/.test(target.raw) });
    }
    return redirect;
  }

  private readHeredocs(): void {
    const pending = this.pending;
    this.pending = [];
    for (const heredoc of pending) {
      const bodyStart = this.pos;
      let lineStart = this.pos;
      for (;;) {
        if (lineStart >= this.limit) throw new ShellParseError(`unclosed here-document \`${heredoc.delimiter}\``, bodyStart);
        const newline = this.src.indexOf("\n", lineStart);
        const lineEnd = newline === -1 || newline > this.limit ? this.limit : newline;
        const line = this.src.slice(lineStart, lineEnd);
        if ((heredoc.stripTabs ? line.replace(/^\t+/, "") : line) === heredoc.delimiter) {
          heredoc.redirect.heredoc = heredoc.quoted
            ? literalWord(bodyStart, this.src.slice(bodyStart, lineStart))
            : new Parser(this.src, this.dialect, bodyStart, lineStart, this.depth).heredocBody();
          this.pos = Math.min(lineEnd + 1, this.limit);
          break;
        }
        lineStart = lineEnd + 1;
      }
    }
  }

  /** An unquoted here-document body: expanded like a double-quoted string without the quotes. */
  private heredocBody(): ShellWord {
    const start = this.pos;
    const builder = new WordBuilder();
    while (this.pos < this.limit) {
      const c = this.ch();
      if (c === "\\" && "$`\\\n".includes(this.ch(1) || "-")) {
        if (this.ch(1) !== "\n") builder.text(this.ch(1));
        this.pos += 2;
      } else if (c === "$") {
        this.dollar(builder, true);
      } else if (c === "`") {
        this.backquote(builder, false);
      } else {
        builder.text(c);
        this.pos++;
      }
    }
    return builder.build(start, this.src.slice(start, this.pos));
  }

  // ---- words

  /** A word that must be there: the parser never loops on a token it cannot consume. */
  private requiredWord(mode: { regex?: boolean } = {}): ShellWord {
    const word = this.word(mode);
    if (word.raw === "") throw this.error(`expected a word, found ${JSON.stringify(this.ch() || "the end")}`);
    return word;
  }

  private word(mode: { assignment?: boolean; regex?: boolean }): ShellWord {
    const start = this.pos;
    const builder = new WordBuilder();
    let openBracket = false;
    let openBrace = false;
    let regexDepth = 0;
    for (;;) {
      const c = this.ch();
      if (c === "") break;
      if (mode.regex && (c === "(" || c === "|" || (regexDepth > 0 && (c === ")" || c === " " || c === "\t")))) {
        regexDepth += c === "(" ? 1 : c === ")" ? -1 : 0;
        builder.text(c);
        this.pos++;
        continue;
      }
      if (this.bash && (c === "<" || c === ">") && this.ch(1) === "(" && this.pos === start) {
        this.processSubstitution(builder);
        continue;
      }
      if (METACHARACTERS.includes(c)) {
        if (c !== "(" || !this.bash) break;
        const before = this.src.slice(start, this.pos);
        if (mode.assignment && before.endsWith("=") && ASSIGNMENT.bash.test(before)) {
          this.arrayElements(builder);
          continue;
        }
        if (this.pos > start && "?*+@!".includes(this.src[this.pos - 1] as string)) {
          this.extendedGlob(builder);
          continue;
        }
        break;
      }
      switch (c) {
        case "\\":
          // An escaped character is quoted; a backslash-newline disappears.
          if (this.ch(1) !== "\n") builder.text(this.ch(1) || "\\");
          this.pos += this.ch(1) === "" ? 1 : 2;
          break;
        case "'":
          builder.text(this.singleQuoted());
          break;
        case '"':
          this.doubleQuoted(builder);
          break;
        case "$":
          this.dollar(builder, false);
          break;
        case "`":
          this.backquote(builder, false);
          break;
        default:
          if (c === "*" || c === "?" || (c === "]" && openBracket) || (c === "}" && openBrace) || (c === "~" && this.pos === start)) {
            builder.expands = true;
          }
          openBracket ||= c === "[";
          openBrace ||= c === "{";
          builder.text(c);
          this.pos++;
      }
    }
    return builder.build(start, this.src.slice(start, this.pos));
  }

  private singleQuoted(): string {
    const close = this.src.indexOf("'", this.pos + 1);
    if (close === -1 || close >= this.limit) throw this.error("unclosed single quote");
    const text = this.src.slice(this.pos + 1, close);
    this.pos = close + 1;
    return text;
  }

  private doubleQuoted(builder: WordBuilder): void {
    this.pos++;
    for (;;) {
      const c = this.ch();
      if (c === "") throw this.error("unclosed double quote");
      if (c === '"') {
        this.pos++;
        return;
      }
      if (c === "\\") {
        const next = this.ch(1);
        if (next === "\n") {
          this.pos += 2;
        } else if ('$`"\\'.includes(next) && next !== "") {
          builder.text(next);
          this.pos += 2;
        } else {
          builder.text("\\");
          this.pos++;
        }
      } else if (c === "$") {
        this.dollar(builder, true);
      } else if (c === "`") {
        this.backquote(builder, true);
      } else {
        builder.text(c);
        this.pos++;
      }
    }
  }

  /** Everything that starts with `$`. A `$` that starts nothing is a literal dollar sign. */
  private dollar(builder: WordBuilder, inDoubleQuotes: boolean): void {
    this.nested(() => this.expansion(builder, inDoubleQuotes));
  }

  private expansion(builder: WordBuilder, inDoubleQuotes: boolean): void {
    const start = this.pos;
    const next = this.ch(1);
    if (this.bash && !inDoubleQuotes && next === "'") {
      this.ansiCString(builder);
      return;
    }
    const inner = new WordBuilder();
    if (this.bash && !inDoubleQuotes && next === '"') {
      // $"..." is translated through the locale's message catalogue: its value is not what is written.
      this.pos++;
      this.doubleQuoted(inner);
    } else if (next === "(" && this.ch(2) === "(") {
      this.pos += 3;
      this.arithmetic(inner, "))");
    } else if (next === "(") {
      this.pos += 2;
      inner.substitutions.push(this.list({ paren: true }));
      if (this.ch() !== ")") throw this.error("expected `)` to close `$(`");
      this.pos++;
    } else if (this.bash && next === "[") {
      this.pos += 2;
      this.arithmetic(inner, "]");
    } else if (next === "{") {
      this.parameterExpansion(inner, inDoubleQuotes);
    } else if (/^[A-Za-z_]$/.test(next)) {
      this.pos += 2;
      while (/^[A-Za-z0-9_]$/.test(this.ch())) this.pos++;
    } else if (next !== "" && "0123456789@*#?$!-".includes(next)) {
      this.pos += 2;
    } else {
      builder.text("$");
      this.pos++;
      return;
    }
    builder.substitutions.push(...inner.substitutions);
    builder.expansion(this.src.slice(start, this.pos));
  }

  /** bash's $'...': static unless it uses a backslash escape, which we do not decode (deny, not guess). */
  private ansiCString(builder: WordBuilder): void {
    const start = this.pos;
    this.pos += 2;
    let escaped = false;
    for (;;) {
      const c = this.ch();
      if (c === "") throw this.error("unclosed $'");
      if (c === "'") break;
      if (c === "\\") {
        escaped = true;
        this.pos++;
      }
      this.pos++;
    }
    this.pos++;
    if (escaped) builder.expansion(this.src.slice(start, this.pos));
    else builder.text(this.src.slice(start + 2, this.pos - 1));
  }

  /**
   * `${...}`: the first unquoted `}` closes it (bash does not count braces). Single quotes inside only
   * delimit text, but bash still expands what they hold within double quotes, so a `$` or backquote
   * in them is refused rather than second-guessed.
   */
  private parameterExpansion(inner: WordBuilder, inDoubleQuotes: boolean): void {
    this.pos += 2;
    for (;;) {
      const c = this.ch();
      if (c === "") throw this.error("expected `}` to close `${`");
      if (c === "}") {
        this.pos++;
        return;
      }
      if (c === "\\") {
        this.pos += 2;
      } else if (c === "'") {
        const start = this.pos;
        if (/[$`]/.test(this.singleQuoted())) throw new ShellParseError("an expansion inside single quotes inside ${...}", start);
      } else if (c === '"') {
        this.doubleQuoted(inner);
      } else if (c === "$") {
        this.dollar(inner, inDoubleQuotes);
      } else if (c === "`") {
        this.backquote(inner, inDoubleQuotes);
      } else {
        this.pos++;
      }
    }
  }

  /** Arithmetic text up to `))` or `]`: only its substitutions can run commands. */
  private arithmetic(inner: WordBuilder, close: "))" | "]"): void {
    let depth = 0;
    for (;;) {
      const c = this.ch();
      if (c === "") throw this.error(`expected \`${close}\``);
      if (close === "]" && c === "]" && depth === 0) {
        this.pos++;
        return;
      }
      if (c === ")" && depth === 0) {
        if (close !== "))" || this.ch(1) !== ")") throw this.error("expected `))`");
        this.pos += 2;
        return;
      }
      if (c === "(") depth++;
      if (c === ")") depth--;
      if (c === "$") this.dollar(inner, true);
      else if (c === "`") this.backquote(inner, true);
      else if (c === '"') this.doubleQuoted(inner);
      else if (c === "'") throw this.error("a single quote in arithmetic");
      else this.pos += c === "\\" ? 2 : 1;
    }
  }

  private arithmeticWord(start: number): ShellWord {
    const builder = new WordBuilder();
    this.arithmetic(builder, "))");
    builder.expansion(this.src.slice(start, this.pos));
    return builder.build(start, this.src.slice(start, this.pos));
  }

  /** Backquotes: the body is the text with `\$`, `` \` ``, `\\` (and `\"` inside double quotes) unescaped. */
  private backquote(builder: WordBuilder, inDoubleQuotes: boolean): void {
    const start = this.pos;
    this.pos++;
    let body = "";
    for (;;) {
      const c = this.ch();
      if (c === "") throw this.error("unclosed backquote");
      if (c === "`") break;
      const next = this.ch(1);
      if (c === "\\" && next !== "" && ("$`\\".includes(next) || (inDoubleQuotes && next === '"'))) {
        body += next;
        this.pos += 2;
      } else {
        body += c;
        this.pos++;
      }
    }
    this.pos++;
    builder.substitutions.push(new Parser(body, this.dialect, 0, body.length, this.depth + 1).script());
    builder.expansion(this.src.slice(start, this.pos));
  }

  private processSubstitution(builder: WordBuilder): void {
    const start = this.pos;
    this.pos += 2;
    builder.substitutions.push(this.list({ paren: true }));
    if (this.ch() !== ")") throw this.error("expected `)` to close a process substitution");
    this.pos++;
    builder.expansion(this.src.slice(start, this.pos));
  }

  /** bash's `name=(a b c)`: each element is a word whose substitutions run. */
  private arrayElements(builder: WordBuilder): void {
    const start = this.pos;
    this.pos++;
    for (;;) {
      this.skipLinebreaks();
      const c = this.ch();
      if (c === "") throw this.error("expected `)` to close an array");
      if (c === ")") break;
      const element = this.requiredWord();
      builder.substitutions.push(...element.substitutions);
    }
    this.pos++;
    builder.expansion(this.src.slice(start, this.pos));
  }

  /** bash's `@(a|b)`, `!(x)`, `*(...)`, `+(...)`, `?(...)`: a glob, so never a literal. */
  private extendedGlob(builder: WordBuilder): void {
    const start = this.pos;
    const inner = new WordBuilder();
    this.pos++;
    let depth = 1;
    while (depth > 0) {
      const c = this.ch();
      if (c === "") throw this.error("expected `)` to close an extended glob");
      if (c === "'") this.singleQuoted();
      else if (c === '"') this.doubleQuoted(inner);
      else if (c === "$") this.dollar(inner, false);
      else if (c === "`") this.backquote(inner, false);
      else {
        depth += c === "(" ? 1 : c === ")" ? -1 : 0;
        this.pos += c === "\\" ? 2 : 1;
      }
    }
    builder.substitutions.push(...inner.substitutions);
    builder.expands = true;
    builder.expansion(this.src.slice(start, this.pos));
  }
}

/** A here-document delimiter is its word with quotes removed and nothing expanded. */
function heredocDelimiter(raw: string): string {
  let delimiter = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c === "\\") delimiter += raw[++i] ?? "";
    else if (c !== "'" && c !== '"') delimiter += c;
  }
  return delimiter;
}
