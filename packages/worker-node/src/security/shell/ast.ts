/**
 * The shape of a shell line as the command policy sees it: just enough structure to find every
 * command word, every nested command list and every redirect. Produced by `parser.ts`.
 *
 * Offsets are UTF-16 indices into `source` of the list that holds the node. A list parsed from a
 * backquoted substitution has its own source (the text after backslash removal), which is why each
 * list carries the string its offsets refer to.
 */

/** Which shell runs the text: `/bin/sh` is dash (POSIX) on the worker's images; `bash -c` is bash. */
export type ShellDialect = "posix" | "bash";

export interface ShellWord {
  readonly start: number;
  readonly raw: string;
  /** The word after quote removal when nothing in it is expanded at run time; undefined otherwise. */
  readonly literal: string | undefined;
  /**
   * The word after quote removal with every expansion kept as written (`$HOME`, `${x}`, `$(...)`):
   * what pattern checks on arguments look at when the word is not literal.
   */
  readonly shape: string;
  /** An unquoted glob (`*`, `?`, `[...]`), brace (`{a,b}`) or leading tilde may rewrite the word. */
  readonly expands: boolean;
  /** Command lists that run while the word is expanded: `$(...)`, backquotes, `<(...)`, `>(...)`. */
  readonly substitutions: readonly ShellList[];
}

export interface ShellRedirect {
  readonly op: string;
  readonly target: ShellWord;
  /** The body of a here-document; its substitutions run unless the delimiter was quoted. */
  readonly heredoc?: ShellWord;
}

export interface SimpleCommand {
  readonly kind: "simple";
  readonly start: number;
  readonly assignments: readonly ShellWord[];
  /** The command word and its arguments; empty for a line of assignments or redirects only. */
  readonly words: readonly ShellWord[];
  readonly redirects: readonly ShellRedirect[];
}

/** Subshells, groups, if/while/until/for/select/case, `(( ))` and `[[ ]]`: bodies and words to walk. */
export interface CompoundCommand {
  readonly kind: "compound";
  readonly keyword: string;
  readonly start: number;
  readonly bodies: readonly ShellList[];
  /** Words the shell expands itself: loop items, case subject and patterns, test and arithmetic text. */
  readonly words: readonly ShellWord[];
  readonly redirects: readonly ShellRedirect[];
}

export interface FunctionDefinition {
  readonly kind: "function";
  readonly start: number;
  readonly name: string;
  readonly body: ShellCommand;
}

export type ShellCommand = SimpleCommand | CompoundCommand | FunctionDefinition;

export interface ShellPipeline {
  readonly negated: boolean;
  readonly commands: readonly ShellCommand[];
}

/** One statement: pipelines joined by `&&` / `||`, optionally sent to the background with `&`. */
export interface ShellStatement {
  readonly start: number;
  readonly pipelines: readonly ShellPipeline[];
  readonly background: boolean;
}

export interface ShellList {
  readonly source: string;
  /** The list's text is `source.slice(start, end)`, a complete script of its own. */
  readonly start: number;
  readonly end: number;
  readonly statements: readonly ShellStatement[];
}

/** A word with no quoting and nothing to expand: a here-document body with a quoted delimiter, an argv item. */
export function literalWord(start: number, text: string): ShellWord {
  return { start, raw: text, literal: text, shape: text, expands: false, substitutions: [] };
}

/** Every word a command expands: assignments, arguments, redirect targets, here-documents, loop items. */
export function wordsOf(command: ShellCommand): ShellWord[] {
  switch (command.kind) {
    case "simple":
      return [...command.assignments, ...command.words, ...redirectWords(command.redirects)];
    case "compound":
      return [...command.words, ...redirectWords(command.redirects)];
    case "function":
      return [];
  }
}

function redirectWords(redirects: readonly ShellRedirect[]): ShellWord[] {
  return redirects.flatMap((redirect) => (redirect.heredoc ? [redirect.target, redirect.heredoc] : [redirect.target]));
}

/** The lists nested directly in a command: compound bodies and the substitutions in its words. */
export function listsOf(command: ShellCommand): ShellList[] {
  if (command.kind === "function") return listsOf(command.body);
  const substitutions = wordsOf(command).flatMap((word) => word.substitutions);
  return command.kind === "compound" ? [...command.bodies, ...substitutions] : substitutions;
}

export function commandsOf(list: ShellList): ShellCommand[] {
  return list.statements.flatMap((statement) => statement.pipelines.flatMap((pipeline) => pipeline.commands));
}
