import { OTHER_SHELLS, SHELL_DIALECTS } from "./command-rules.js";
import type { ShellDialect, ShellWord } from "./shell/ast.js";

/**
 * Where a command word is looked up: "shell" (functions, builtins, then PATH), "no-function" (`command
 * x`), "builtin" (`builtin x`), or "external" (PATH only: what env, xargs, exec and find -exec run is
 * exec'd, so a function or builtin of that name is not what runs).
 */
export type CommandLookup = "shell" | "no-function" | "builtin" | "external";

/**
 * What a command runs besides itself, read from its arguments: `env FOO=1 node x` runs `node x`,
 * `xargs rm` runs `rm`, `find -exec`, `timeout 5 make`, `eval '...'`, `bash -c '...'`, `trap '...' EXIT`.
 * Each wrapper's options are parsed with its own grammar, so an option's value is never mistaken for
 * the wrapped command; an option we do not know makes the call unanalysable rather than guessed.
 */
export type WrappedRun =
  | {
      readonly kind: "command";
      /** The wrapped command word and its arguments. */
      readonly words: readonly ShellWord[];
      /** How the wrapped word is looked up: see CommandLookup. */
      readonly lookup: CommandLookup;
      /** Text the wrapper replaces at run time (`{}` of find and xargs -I): a command word holding it is dynamic. */
      readonly placeholder?: string;
    }
  /** A script given as text: the words joined by spaces, in `dialect` (undefined: the caller's). */
  | { readonly kind: "script"; readonly words: readonly ShellWord[]; readonly dialect: ShellDialect | undefined }
  /** A file read as shell code by `source` / `.`. */
  | { readonly kind: "sourced-file"; readonly word: ShellWord }
  | { readonly kind: "unanalysable"; readonly detail: string; readonly word: ShellWord };

/** Whether `name` runs other code given in its arguments. */
export function isWrapper(name: string): boolean {
  return name in WRAPPERS || SHELL_DIALECTS.has(name) || OTHER_SHELLS.has(name);
}

/** What `name args...` runs besides itself; [] when it runs nothing else. */
export function wrappedRuns(name: string, args: readonly ShellWord[]): WrappedRun[] {
  const dialect = SHELL_DIALECTS.get(name);
  if (dialect !== undefined || OTHER_SHELLS.has(name)) return shellScript(name, dialect, args);
  return WRAPPERS[name]?.(args) ?? [];
}

interface OptionGrammar {
  /** Short options without a value. */
  readonly flags?: string;
  /** Short options with a value, attached (`-n5`) or in the next word (`-n 5`). */
  readonly valued?: string;
  /** Short options whose optional value can only be attached (`xargs -i{}`). */
  readonly optionalValued?: string;
  readonly longFlags?: readonly string[];
  /** Long options with a value, `--name=value` or `--name value`. */
  readonly longValued?: readonly string[];
  /** Accept `-10` (nice's old-style adjustment). */
  readonly numericOption?: boolean;
  /** Options that make the command impossible to analyse, with the reason. */
  readonly refused?: Readonly<Record<string, string>>;
}

/** `values` holds every option seen, by name, with its value ("" for a flag). */
type Options = { readonly operands: number; readonly values: ReadonlyMap<string, string> } | { readonly refused: WrappedRun };

/** Reads leading options; `operands` is the index of the first operand. A non-literal word ends the options. */
function readOptions(args: readonly ShellWord[], grammar: OptionGrammar): Options {
  const values = new Map<string, string>();
  const refuse = (word: ShellWord, detail: string): Options => ({ refused: { kind: "unanalysable", detail, word } });
  let index = 0;
  for (; index < args.length; index++) {
    const word = args[index] as ShellWord;
    const text = word.literal;
    if (text === undefined || text === "-" || !text.startsWith("-")) break;
    if (text === "--") return { operands: index + 1, values };
    if (text.startsWith("--")) {
      const equals = text.indexOf("=");
      const name = text.slice(2, equals === -1 ? undefined : equals);
      if (grammar.refused?.[name]) return refuse(word, grammar.refused[name] as string);
      if (grammar.longValued?.includes(name)) {
        values.set(name, equals === -1 ? (args[++index]?.literal ?? "") : text.slice(equals + 1));
      } else if (grammar.longFlags?.includes(name)) {
        values.set(name, equals === -1 ? "" : text.slice(equals + 1));
      } else {
        return refuse(word, `unknown option ${text}`);
      }
      continue;
    }
    if (grammar.numericOption && /^-\d+$/.test(text)) continue;
    for (let at = 1; at < text.length; at++) {
      const option = text[at] as string;
      const rest = text.slice(at + 1);
      if (grammar.refused?.[option]) return refuse(word, grammar.refused[option] as string);
      if (grammar.flags?.includes(option)) {
        values.set(option, "");
        continue;
      }
      if (grammar.valued?.includes(option)) {
        values.set(option, rest !== "" ? rest : (args[++index]?.literal ?? ""));
      } else if (grammar.optionalValued?.includes(option)) {
        values.set(option, rest);
      } else {
        return refuse(word, `unknown option -${option}`);
      }
      break;
    }
  }
  return { operands: index, values };
}

/** A wrapper that runs its first operand (after `skip` more operands) as a command. */
function commandAfterOptions(grammar: OptionGrammar, skip = 0): (args: readonly ShellWord[]) => WrappedRun[] {
  return (args) => {
    const options = readOptions(args, grammar);
    if ("refused" in options) return [options.refused];
    const words = args.slice(options.operands + skip);
    return words.length > 0 ? [{ kind: "command", words, lookup: "external" }] : [];
  };
}

const WRAPPERS: Readonly<Record<string, (args: readonly ShellWord[]) => WrappedRun[]>> = {
  env: (args) => {
    const options = readOptions(args, {
      flags: "i0v",
      valued: "uC",
      longFlags: ["ignore-environment", "null", "debug"],
      longValued: ["unset", "chdir"],
      refused: { S: "env -S splits a string into a command", "split-string": "env --split-string splits a string into a command" },
    });
    if ("refused" in options) return [options.refused];
    let index = options.operands;
    // NAME=VALUE pairs, and "-" (an old spelling of -i), come before the command.
    while (index < args.length && /^(-$|[^=]+=)/.test(args[index]?.literal ?? "")) index++;
    const words = args.slice(index);
    return words.length > 0 ? [{ kind: "command", words, lookup: "external" }] : [];
  },
  nohup: commandAfterOptions({}),
  timeout: commandAfterOptions(
    { flags: "v", valued: "ks", longFlags: ["foreground", "preserve-status", "verbose"], longValued: ["kill-after", "signal"] },
    1,
  ),
  nice: commandAfterOptions({ valued: "n", numericOption: true, longValued: ["adjustment"] }),
  stdbuf: commandAfterOptions({ valued: "ioe", longValued: ["input", "output", "error"] }),
  setsid: commandAfterOptions({ flags: "cfw", longFlags: ["ctty", "fork", "wait"] }),
  time: commandAfterOptions({
    flags: "pvaq",
    valued: "fo",
    longFlags: ["portability", "verbose", "append", "quiet"],
    longValued: ["format", "output"],
  }),
  exec: commandAfterOptions({ flags: "cl", valued: "a" }),
  xargs: (args) => {
    const options = readOptions(args, {
      flags: "0prtxo",
      valued: "adEILnPs",
      optionalValued: "eil",
      longFlags: ["null", "interactive", "verbose", "exit", "no-run-if-empty", "open-tty", "show-limits", "replace", "eof", "max-lines"],
      longValued: ["arg-file", "delimiter", "max-args", "max-procs", "max-chars", "process-slot-var"],
    });
    if ("refused" in options) return [options.refused];
    const words = args.slice(options.operands);
    // -I R, -i[R] and --replace[=R] substitute R (default "{}") in the command with each input item.
    const { values } = options;
    const placeholder =
      values.get("I") ?? (values.has("i") || values.has("replace") ? values.get("i") || values.get("replace") || "{}" : undefined);
    // Without a command, xargs runs echo.
    return words.length > 0 ? [{ kind: "command", words, lookup: "external", ...(placeholder ? { placeholder } : {}) }] : [];
  },
  find: (args) => {
    const runs: WrappedRun[] = [];
    for (let index = 0; index < args.length; index++) {
      const action = args[index] as ShellWord;
      if (!["-exec", "-execdir", "-ok", "-okdir"].includes(action.literal ?? "")) continue;
      const end = args.findIndex((word, at) => at > index && (word.literal === ";" || word.literal === "+"));
      if (end === -1) return [{ kind: "unanalysable", detail: `${action.literal} without a closing ";" or "+"`, word: action }];
      runs.push({ kind: "command", words: args.slice(index + 1, end), lookup: "external", placeholder: "{}" });
      index = end;
    }
    return runs;
  },
  eval: (args) => (args.length > 0 ? [{ kind: "script", words: args, dialect: undefined }] : []),
  trap: (args) => {
    const options = readOptions(args, { flags: "lpP" });
    if ("refused" in options) return [options.refused];
    // With a single operand, or "-" or "" as the action, trap only resets signals.
    const action = args[options.operands];
    if (!action || args.length - options.operands < 2 || action.literal === "-" || action.literal === "") return [];
    return [{ kind: "script", words: [action], dialect: undefined }];
  },
  source: sourcedFile,
  ".": sourcedFile,
  command: (args) => {
    const options = readOptions(args, { flags: "pvV" });
    if ("refused" in options) return [options.refused];
    // `command -v x` / `-V` only describe x.
    if (options.values.has("v") || options.values.has("V")) return [];
    const words = args.slice(options.operands);
    return words.length > 0 ? [{ kind: "command", words, lookup: "no-function" }] : [];
  },
  builtin: (args) => (args.length > 0 ? [{ kind: "command", words: args, lookup: "builtin" }] : []),
};

function sourcedFile(args: readonly ShellWord[]): WrappedRun[] {
  const file = args[0]?.literal === "--" ? args[1] : args[0];
  return file ? [{ kind: "sourced-file", word: file }] : [];
}

/** `sh -c 'script'`: the script is checked in the shell's dialect. A script file or stdin is not ours to read. */
function shellScript(name: string, dialect: ShellDialect | undefined, args: readonly ShellWord[]): WrappedRun[] {
  let commandMode = false;
  let index = 0;
  for (; index < args.length; index++) {
    const text = args[index]?.literal;
    if (text === undefined || text === "-" || text === "--" || !/^[-+]/.test(text)) break;
    if (text.startsWith("--")) {
      if (text === "--rcfile" || text === "--init-file") index++;
      continue;
    }
    commandMode ||= text.startsWith("-") && text.includes("c");
    // -o/+o and -O/+O name a shell option in the next word.
    if (/[oO]/.test(text)) index++;
  }
  if (args[index]?.literal === "-" || args[index]?.literal === "--") index++;
  const script = args[index];
  if (!commandMode || !script) return [];
  if (dialect === undefined) return [{ kind: "unanalysable", detail: `the policy does not parse ${name} scripts`, word: script }];
  return [{ kind: "script", words: [script], dialect }];
}
