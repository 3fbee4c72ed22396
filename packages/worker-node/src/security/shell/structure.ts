import { invalidArgument } from "../../errors.js";
import { CommandDeniedError, showWord } from "../command-denied.js";
import { commandsOf, listsOf, type ShellDialect, type ShellList } from "./ast.js";
import { parseShellScript, ShellParseError } from "./parser.js";
import { checkShellSyntax } from "./syntax.js";

/**
 * A shell text's tree, confirmed by mvdan/sh: our parser (`parser.ts`) builds it, and every list
 * in it (the script, each body, each substitution) must split into statements exactly where mvdan/sh
 * splits the same text. A disagreement means one of the two misreads the text, and a misread is how a
 * guard gets bypassed, so it is a denial, not a guess.
 *
 * One parser call covers everything: the lists' texts joined by newlines, the job's text first. Each
 * call costs a fresh Go runtime (see syntax.ts), so only a failure pays for a second call, on
 * the job's text alone, to report its syntax error exactly.
 *
 * `where` says in messages which text is meant: "" for the job's command, or e.g. " (in the script
 * given to `bash -c`)".
 */
export async function parseVerifiedShell(text: string, dialect: ShellDialect, field: string, where: string): Promise<ShellList> {
  let tree: ShellList | undefined;
  let failure: ShellParseError | undefined;
  try {
    tree = parseShellScript(text, dialect);
  } catch (error) {
    if (!(error instanceof ShellParseError)) throw error;
    failure = error;
  }
  const lists = tree ? [tree, ...nestedLists(tree)] : [];
  const result = await checkShellSyntax(tree ? lists.map(textOf).join("\n") : text, dialect);
  if (tree && result.ok) {
    if (!sameOffsets(result, lists))
      throw unanalysable(field, where, text, "the command policy and the shell parser disagree on where its statements start");
    return tree;
  }
  const whole = lists.length > 1 ? await checkShellSyntax(text, dialect) : result;
  if (!whole.ok) {
    if (whole.tooComplex)
      throw invalidArgument(
        field,
        `is too large or too deeply nested for the shell parser${where}; put long scripts in \`files\` and run them`,
      );
    const position = whole.line === undefined ? "" : ` at line ${whole.line}, column ${whole.column}`;
    throw invalidArgument(
      field,
      `is not valid ${dialect === "posix" ? "/bin/sh (POSIX)" : "bash"} syntax${where}${position}: ${whole.message}`,
    );
  }
  if (!failure) throw unanalysable(field, where, text, "the shell parser rejects a part of it on its own");
  if (failure.tooComplex) throw invalidArgument(field, `${failure.message}${where}; simplify the command or put it in a script file`);
  throw unanalysable(field, where, text.slice(failure.offset, failure.offset + 40), failure.message);
}

function unanalysable(field: string, where: string, snippet: string, detail: string): CommandDeniedError {
  return new CommandDeniedError(
    "unanalysable",
    snippet,
    `the command policy cannot analyse ${showWord(snippet)}${where} (${detail}); write it more plainly or put it in a script file`,
    field,
  );
}

/** Every list below the root, in source order, that holds at least one statement. */
function nestedLists(root: ShellList): ShellList[] {
  const found: ShellList[] = [];
  const visit = (list: ShellList): void => {
    for (const command of commandsOf(list)) {
      for (const child of listsOf(command)) {
        if (child.statements.length > 0) found.push(child);
        visit(child);
      }
    }
  };
  visit(root);
  return found;
}

function textOf(list: ShellList): string {
  return list.source.slice(list.start, list.end);
}

/** Whether mvdan/sh's statement offsets over the lists' texts joined by "\n" are the lists' own. */
function sameOffsets(result: { readonly statementOffsets: readonly number[] }, lists: readonly ShellList[]): boolean {
  const expected: number[] = [];
  let base = 0;
  for (const list of lists) {
    const text = textOf(list);
    for (const offset of utf8Offsets(
      text,
      list.statements.map((statement) => statement.start - list.start),
    ))
      expected.push(base + offset);
    base += utf8Offsets(text, [text.length])[0] as number;
    base += 1;
  }
  const actual = result.statementOffsets;
  return actual.length === expected.length && actual.every((offset, index) => offset === expected[index]);
}

/** UTF-8 byte offsets of ascending UTF-16 indices, in one pass (mvdan/sh counts bytes). */
function utf8Offsets(text: string, indices: readonly number[]): number[] {
  const offsets: number[] = [];
  let bytes = 0;
  let i = 0;
  for (const target of indices) {
    for (; i < target; i++) {
      const code = text.charCodeAt(i);
      const next = text.charCodeAt(i + 1);
      if (code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else {
        bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : 3;
      }
    }
    offsets.push(bytes);
  }
  return offsets;
}
