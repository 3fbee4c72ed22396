import { posix } from "node:path";
import { CommandDeniedError, showWord, type CommandDenialReason } from "./command-denied.js";
import { ALWAYS_DENIED, RUNNER_BUILTINS, SAFE_BUILTINS, SYSTEM_BIN_DIRS } from "./command-rules.js";
import { isWrapper, wrappedRuns, type CommandLookup, type WrappedRun } from "./command-wrappers.js";
import { dangerousCommand, dangerousPipeline, dangerousRedirect, forkBomb, type DangerousMatch } from "./dangerous-patterns.js";
import { literalWord, wordsOf, type ShellCommand, type ShellDialect, type ShellList, type ShellWord } from "./shell/ast.js";
import { parseVerifiedShell } from "./shell/structure.js";
import { loadShellSyntax } from "./shell/syntax.js";

/**
 * The command policy: a GUARD, NOT A SANDBOX. It catches an agent's mistakes and obvious abuse before
 * anything starts: programs outside `governance.command_allowlist`, sudo-likes, command words only
 * known at run time, and destructive shapes such as `rm -rf /` or `curl | sh`. It cannot contain a
 * hostile job: an allowed `bash`, `node` or `python` runs anything, and a job can write a file and run
 * it. Containment is the sandbox's job (see docs/threat-model.md).
 *
 * How a shell line is read: `/bin/sh -c` runs it, and /bin/sh is dash, so it is parsed as POSIX sh
 * (`policy.shell` says otherwise). Our parser builds the tree and mvdan/sh confirms it (see
 * shell/structure.ts). Every command word is checked: pipelines, `&&`/`||`/`;` lists, subshells, groups,
 * if/while/until/for/case bodies, function bodies, `$(...)`, backquotes, process substitutions, and the
 * substitutions inside `${...}`, `$((...))`, here-documents, assignments and redirect targets.
 *
 * The rules for one command word:
 * - It must be literal after quote removal (`"r"m` is rm). `$CMD`, `$(echo rm)`, globs, `{a,b}` and
 *   `~` may turn into anything at run time: denied as a dynamic command word.
 * - sudo, su, doas, pkexec, runuser: always denied.
 * - A bare name is a builtin, a function defined earlier at the top level of the same script, or must be
 *   in the allowlist. Builtins that only change the shell's state are allowed (cd, export, test, ...).
 * - An absolute path in a standard bin dir (/usr/bin/rm) is judged by its basename; elsewhere it must be
 *   in the allowlist as that exact path. A relative path with a slash (`./build.sh`, `bin/x`) is the
 *   job's own file and allowed unless it climbs out with `..`. (The job can `cd` and name a system
 *   binary relatively, or link one into the work dir; the dangerous patterns still apply by basename.)
 * - Wrappers are seen through: `env FOO=1 node x` checks node, `xargs rm` rm, `timeout 5 make` make,
 *   `find -exec` its command, `exec`/`command`/`builtin` theirs. Text that becomes code is parsed and
 *   checked like the line itself when literal, and denied when not: `eval`, `trap`, `sh -c`, `bash -c`
 *   (bash's own dialect). `source`/`.` may read the job's own files only (relative, no `..`).
 * - In bash, names passed to declare, unset, read, let, `printf -v`, `test -v` are evaluated as array
 *   subscripts, which run `$(...)`: a literal `$(` or backquote there is denied.
 */

export interface CommandPolicy {
  /** governance.command_allowlist: bare names, or absolute paths for tools outside the system bin dirs. */
  readonly allowlist: readonly string[];
  /** The shell that runs `command`. @default "posix" (/bin/sh is dash) */
  readonly shell?: ShellDialect;
}

export type JobProgram = { readonly command: string } | { readonly argv: readonly string[] };

/**
 * Compiles the shell parser once. Optional: the first check does it anyway; calling this at start-up
 * keeps that cost off the first Dispatch. The checks stay async because the parser runs in a fresh Go
 * runtime per call, which sh-syntax only offers asynchronously.
 */
export async function prepareCommandPolicy(): Promise<void> {
  await loadShellSyntax();
}

/**
 * Thrown as CommandDeniedError (PERMISSION_DENIED, field "command" or "argv[0]") when the policy refuses
 * the program, and as INVALID_ARGUMENT when the shell line (or a script it hands to eval, sh -c...)
 * does not parse. An argv job runs argv[0] with no shell: it is checked as a command whose words are
 * all literal, looked up on PATH only (no builtins, no functions), wrappers included.
 */
export async function checkCommand(program: JobProgram, policy: CommandPolicy): Promise<void> {
  const rules = compileRules(policy.allowlist);
  const dialect = policy.shell ?? "posix";
  const queue: PendingScript[] = [];
  if ("argv" in program) {
    const root = { text: "", dialect, where: "", level: 0, functions: new Set<string>(), field: "argv[0]" };
    new Walker(rules, root, queue).program(program.argv.map((arg, index) => literalWord(index, arg)));
  } else {
    queue.push({ text: program.command, dialect, where: "", level: 0, functions: new Set(), field: "command" });
  }
  for (let script = queue.shift(); script; script = queue.shift()) {
    const tree = await parseVerifiedShell(script.text, script.dialect, script.field, script.where);
    new Walker(rules, script, queue).list(tree, true);
  }
}

/** eval inside sh -c inside eval...: deeper than this is refused rather than followed. */
const MAX_SCRIPT_NESTING = 4;

interface CompiledRules {
  readonly names: ReadonlySet<string>;
  readonly paths: ReadonlySet<string>;
}

const compiled = new WeakMap<readonly string[], CompiledRules>();

/** The allowlist as sets, built once per configured list (the config object lives as long as the worker). */
function compileRules(allowlist: readonly string[]): CompiledRules {
  let rules = compiled.get(allowlist);
  if (!rules) {
    rules = {
      names: new Set(allowlist.filter((entry) => !entry.includes("/"))),
      paths: new Set(allowlist.filter((entry) => entry.startsWith("/")).map((entry) => posix.normalize(entry))),
    };
    compiled.set(allowlist, rules);
  }
  return rules;
}

interface PendingScript {
  readonly text: string;
  readonly dialect: ShellDialect;
  /** For messages: "" for the job's command, " (in the script given to `eval`)" for nested ones. */
  readonly where: string;
  readonly level: number;
  /** Functions the enclosing script had defined when it handed over this text. */
  readonly functions: ReadonlySet<string>;
  /** "command" or "argv[0]": every refusal names the field the job's program came from. */
  readonly field: string;
}

type ProgramName =
  /** A bare name, looked up as function, builtin, then PATH. */
  | { kind: "bare"; base: string }
  /** An absolute path in a standard bin dir. */
  | { kind: "system"; base: string }
  | { kind: "allowlisted-path"; base: string }
  /** A relative path with a slash: the job's own file. */
  | { kind: "own-file"; base: string };

/**
 * Operands bash evaluates a second time, as names or arithmetic (`a[$(cmd)]` runs cmd). Only literal
 * text matters: a substitution the shell expands first has been checked already, and what it yields
 * is only known at run time.
 */
const NAME_OPERANDS: Readonly<Record<string, (args: readonly ShellWord[]) => string[]>> = {
  let: (args) => args.map(text),
  printf: (args) => valueAfter(args, "-v"),
  test: (args) => valueAfter(args, "-v"),
  "[": (args) => valueAfter(args, "-v"),
  ...Object.fromEntries(
    ["declare", "typeset", "local", "export", "readonly", "unset", "read", "mapfile", "readarray"].map((name) => [
      name,
      (args: readonly ShellWord[]) => args.map((word) => text(word).split("=")[0] as string),
    ]),
  ),
};

function text(word: ShellWord): string {
  return word.literal ?? "";
}

function valueAfter(args: readonly ShellWord[], option: string): string[] {
  return args.flatMap((word, index) => (word.literal === option && args[index + 1] ? [text(args[index + 1] as ShellWord)] : []));
}

class Walker {
  /** Top-level functions defined so far: callable by name once their definition has run. */
  private readonly functions: Set<string>;

  constructor(
    private readonly rules: CompiledRules,
    private readonly script: PendingScript,
    private readonly queue: PendingScript[],
  ) {
    this.functions = new Set(script.functions);
  }

  list(list: ShellList, topLevel: boolean): void {
    for (const statement of list.statements) {
      // Only a definition that is a whole top-level statement surely runs before what follows it.
      const plain = topLevel && !statement.background && statement.pipelines.length === 1 && statement.pipelines[0]?.commands.length === 1;
      for (const pipeline of statement.pipelines) {
        this.refuseDangerous(dangerousPipeline(pipeline));
        for (const command of pipeline.commands) this.command(command, plain);
      }
    }
  }

  /** An argv job's program: exec'd directly, so looked up on PATH only. */
  program(argv: readonly ShellWord[]): void {
    if (argv.length > 0) this.invocation(argv, "external", "", undefined);
  }

  private command(command: ShellCommand, definesFunction: boolean): void {
    if (command.kind === "function") {
      this.refuseDangerous(forkBomb(command));
      if (definesFunction) this.functions.add(command.name);
      this.command(command.body, false);
      return;
    }
    for (const redirect of command.redirects) this.refuseDangerous(dangerousRedirect(redirect));
    // Substitutions run before the command itself.
    for (const word of wordsOf(command)) for (const substitution of word.substitutions) this.list(substitution, false);
    if (command.kind === "compound") {
      for (const body of command.bodies) this.list(body, false);
    } else if (command.words.length > 0) {
      this.invocation(command.words, "shell", "", undefined);
    }
  }

  private invocation(words: readonly ShellWord[], lookup: CommandLookup, via: string, placeholder: string | undefined): void {
    const [first, ...args] = words as [ShellWord, ...ShellWord[]];
    const context = `${via}${this.script.where}`;
    const word = first.literal;
    if (word === undefined || first.expands || (placeholder !== undefined && word.includes(placeholder))) {
      throw this.denied(
        "dynamic_command_word",
        first.raw,
        `the command word ${showWord(first.raw)}${context} is only known at run time; write the program's name literally`,
      );
    }
    const name = this.resolve(word, context);
    if (ALWAYS_DENIED.has(name.base)) {
      throw this.denied(
        "always_denied",
        first.raw,
        `${showWord(first.raw)}${context} is never allowed: a job runs as its sandbox user and cannot change it`,
      );
    }
    this.refuseDangerous(dangerousCommand(name.base, args));
    if (name.kind === "own-file") return;
    if (name.kind === "bare" && lookup !== "external") {
      if (RUNNER_BUILTINS.has(word)) return this.wrapped(word, args);
      if (SAFE_BUILTINS.has(word)) return this.builtinOperands(word, args, context);
      if (lookup === "shell" && this.functions.has(word)) return;
    }
    if (lookup === "builtin" || (!this.rules.names.has(name.base) && name.kind !== "allowlisted-path")) {
      const hint =
        lookup === "builtin"
          ? " (not a shell builtin)"
          : word === "[[" && this.script.dialect === "posix"
            ? " (`[[` is bash syntax and commands run under /bin/sh: use `[ ... ]` or `bash -c`)"
            : "";
      throw this.denied(
        "not_allowlisted",
        first.raw,
        `${showWord(first.raw)}${context} is not in governance.command_allowlist${hint}; use an allowed tool or ask the operator to add it`,
      );
    }
    if (isWrapper(name.base)) this.wrapped(name.base, args);
  }

  /** Applies the path rules to a literal command word (see the module doc). */
  private resolve(word: string, context: string): ProgramName {
    if (!word.includes("/")) return { kind: "bare", base: word };
    const normalized = posix.normalize(word);
    const base = posix.basename(normalized);
    if (!word.startsWith("/")) {
      if (normalized === ".." || normalized.startsWith("../")) {
        throw this.denied(
          "not_allowlisted",
          word,
          `${showWord(word)}${context} leaves the work dir; run the job's own files by a path inside it`,
        );
      }
      return { kind: "own-file", base };
    }
    if (SYSTEM_BIN_DIRS.has(posix.dirname(normalized))) return { kind: "system", base };
    if (this.rules.paths.has(normalized)) return { kind: "allowlisted-path", base };
    throw this.denied(
      "not_allowlisted",
      word,
      `${showWord(word)}${context} is outside the system bin dirs (${[...SYSTEM_BIN_DIRS].join(", ")}) and not in governance.command_allowlist; use the program's name, or ask the operator to allowlist this path`,
    );
  }

  private wrapped(name: string, args: readonly ShellWord[]): void {
    for (const run of wrappedRuns(name, args)) this.wrappedRun(name, run);
  }

  private wrappedRun(name: string, run: WrappedRun): void {
    const via = ` (run by \`${name}\`)`;
    switch (run.kind) {
      case "command":
        return this.invocation(run.words, run.lookup, via, run.placeholder);
      case "script":
        return this.enqueue(name, run.words, run.dialect ?? this.script.dialect);
      case "sourced-file": {
        const file = run.word.literal;
        const dynamic = file === undefined || run.word.expands;
        if (dynamic || file.startsWith("/") || posix.normalize(file) === ".." || posix.normalize(file).startsWith("../")) {
          throw this.denied(
            dynamic ? "dynamic_command_word" : "not_allowlisted",
            run.word.raw,
            `\`${name}\` may only read the job's own files (a literal path inside the work dir), got ${showWord(run.word.raw)}${this.script.where}`,
          );
        }
        return;
      }
      case "unanalysable":
        throw this.denied(
          "unanalysable",
          run.word.raw,
          `the command policy cannot analyse ${showWord(run.word.raw)}${via}${this.script.where}: ${run.detail}`,
        );
    }
  }

  /** eval, trap, sh -c: literal text is parsed and checked like the job's own line, after it. */
  private enqueue(name: string, words: readonly ShellWord[], dialect: ShellDialect): void {
    const dynamic = words.find((word) => word.literal === undefined);
    if (dynamic) {
      throw this.denied(
        "dynamic_command_word",
        dynamic.raw,
        `the script given to \`${name}\`${this.script.where} is only known at run time (${showWord(dynamic.raw)}); give it as literal text`,
      );
    }
    const where = ` (in the script given to \`${name}\`${this.script.where})`;
    if (this.script.level >= MAX_SCRIPT_NESTING) {
      throw this.denied("unanalysable", name, `scripts nested more than ${MAX_SCRIPT_NESTING} levels deep${where}`);
    }
    const text = words.map((word) => word.literal).join(" ");
    this.queue.push({ ...this.script, text, dialect, where, level: this.script.level + 1, functions: new Set(this.functions) });
  }

  private builtinOperands(name: string, args: readonly ShellWord[], context: string): void {
    const evaluated = NAME_OPERANDS[name]?.(args).find((operand) => /\$\(|`/.test(operand));
    if (evaluated !== undefined) {
      throw this.denied(
        "dynamic_command_word",
        evaluated,
        `\`${name}\`${context} would evaluate ${showWord(evaluated)} as a name, running the command substitution in it`,
      );
    }
  }

  private refuseDangerous(match: DangerousMatch | undefined): void {
    if (match)
      throw this.denied(
        "dangerous_pattern",
        match.word,
        `refused: ${match.pattern}, at ${showWord(match.word)}${this.script.where}`,
        match.pattern,
      );
  }

  private denied(reason: CommandDenialReason, word: string, message: string, pattern?: string): CommandDeniedError {
    return new CommandDeniedError(reason, word, message, this.script.field, pattern);
  }
}
