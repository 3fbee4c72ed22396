import { posix } from "node:path";
import { DOWNLOADERS, OTHER_SHELLS, SHELL_DIALECTS, STDIN_INTERPRETERS } from "./command-rules.js";
import { wrappedRuns } from "./command-wrappers.js";
import {
  commandsOf,
  listsOf,
  type FunctionDefinition,
  type ShellList,
  type ShellPipeline,
  type ShellRedirect,
  type ShellWord,
} from "./shell/ast.js";

/**
 * Shapes of commands that are destructive whatever the allowlist says, recognised on the parsed
 * tree (quotes removed, wrappers seen through), never by matching the raw line. They catch an agent's
 * mistake; a determined job can still write the same thing in a way no pattern sees (the sandbox is
 * what contains it).
 */
export interface DangerousMatch {
  /** Which pattern, for the message: "rm -r of /, ~ or a top-level directory". */
  readonly pattern: string;
  /** The word that matched, as the job wrote it. */
  readonly word: string;
}

/** Checks one command by its program's basename and its argument words. */
export function dangerousCommand(name: string, args: readonly ShellWord[]): DangerousMatch | undefined {
  if (name === "mkfs" || name.startsWith("mkfs.") || name === "mke2fs" || name === "mkswap") {
    return { pattern: `${name} (formats a filesystem)`, word: name };
  }
  switch (name) {
    case "rm":
      return removesRoot(args);
    case "chmod":
      return dangerousChmod(args);
    case "find":
      return findDeletesRoot(args);
    case "dd":
      return firstDeviceWrite(
        "dd of=",
        args.flatMap((word) => (textOf(word).startsWith("of=") ? [{ word, path: textOf(word).slice(3) }] : [])),
      );
    case "tee":
      return firstDeviceWrite(
        "tee",
        args.filter((word) => !textOf(word).startsWith("-")).map((word) => ({ word, path: textOf(word) })),
      );
  }
  if (isShellSink(name)) {
    const fetched = args.find((word) => word.substitutions.some(runsDownloader));
    if (fetched) return { pattern: "a download executed by a shell", word: fetched.raw };
  }
  return undefined;
}

/** `> /dev/sda` and friends: any write redirect to a device other than the harmless ones. */
export function dangerousRedirect(redirect: ShellRedirect): DangerousMatch | undefined {
  const writes =
    [">", ">>", ">|", "<>", "&>", "&>>"].includes(redirect.op) || (redirect.op === ">&" && !/^(\d+|-)$/.test(textOf(redirect.target)));
  return writes ? firstDeviceWrite(redirect.op, [{ word: redirect.target, path: textOf(redirect.target) }]) : undefined;
}

/** `curl ... | sh`: a downloader earlier in a pipeline than a shell or an interpreter reading stdin. */
export function dangerousPipeline(pipeline: ShellPipeline): DangerousMatch | undefined {
  let downloader: ShellWord | undefined;
  for (const command of pipeline.commands) {
    if (command.kind !== "simple" || command.words.length === 0) continue;
    const chain = commandChain(command.words);
    if (downloader && chain.some(({ name, args }) => isShellSink(name) && (!STDIN_INTERPRETERS.has(name) || readsStdin(args)))) {
      return { pattern: "a download piped into a shell", word: downloader.raw };
    }
    if (chain.some(({ name }) => DOWNLOADERS.has(name))) downloader ??= command.words[0];
  }
  return undefined;
}

/** `:(){ :|:& };:`: a function that calls itself in a pipeline or in the background multiplies. */
export function forkBomb(definition: FunctionDefinition): DangerousMatch | undefined {
  const lists = listsOf(definition.body);
  for (let list = lists.pop(); list; list = lists.pop()) {
    for (const statement of list.statements) {
      for (const pipeline of statement.pipelines) {
        const callsItself = pipeline.commands.some((command) => command.kind === "simple" && command.words[0]?.literal === definition.name);
        if (callsItself && (pipeline.commands.length > 1 || statement.background)) {
          return { pattern: "a fork bomb (a function that starts copies of itself)", word: definition.name };
        }
      }
    }
    lists.push(...commandsOf(list).flatMap(listsOf));
  }
  return undefined;
}

/** Quote-removed text, with expansions as written ($HOME): what argument patterns look at. */
function textOf(word: ShellWord): string {
  return word.literal ?? word.shape;
}

function isShellSink(name: string): boolean {
  return SHELL_DIALECTS.has(name) || OTHER_SHELLS.has(name) || STDIN_INTERPRETERS.has(name);
}

/** An interpreter reads its program from stdin when it gets no operand, or "-". */
function readsStdin(args: readonly ShellWord[]): boolean {
  return args.every((word) => textOf(word) === "-");
}

/** A command and what it wraps: `timeout 5 env X=1 curl ...` gives timeout, env, curl. */
function commandChain(words: readonly ShellWord[]): { name: string; args: readonly ShellWord[] }[] {
  const chain: { name: string; args: readonly ShellWord[] }[] = [];
  let current = words;
  while (current[0]?.literal !== undefined && chain.length < 8) {
    const name = posix.basename(current[0].literal);
    const args = current.slice(1);
    chain.push({ name, args });
    const wrapped = wrappedRuns(name, args).find((run) => run.kind === "command");
    if (!wrapped) break;
    current = wrapped.words;
  }
  return chain;
}

function runsDownloader(list: ShellList): boolean {
  return commandsOf(list).some(
    (command) =>
      (command.kind === "simple" && commandChain(command.words).some(({ name }) => DOWNLOADERS.has(name))) ||
      listsOf(command).some(runsDownloader),
  );
}

const HOME = /^(~|\$HOME|\$\{HOME\})(?=\/|$)/;

/** `/`, anything directly under it (`/usr`, `/*`), and the home directory (`~`, `$HOME/*`). */
function isProtectedTarget(text: string): boolean {
  const path = text.replace(HOME, "~").replace(/\/+/g, "/");
  if (path.startsWith("~")) return /^~(\/(\*|\.\*)?)?$/.test(path.replace(/\/\.?$/, "/"));
  if (!path.startsWith("/")) return false;
  const normalized = posix.normalize(path);
  return normalized === "/" || /^\/[^/]+\/?$/.test(normalized);
}

function removesRoot(args: readonly ShellWord[]): DangerousMatch | undefined {
  let recursive = false;
  let options = true;
  const targets: ShellWord[] = [];
  for (const word of args) {
    const text = textOf(word);
    if (options && text === "--") {
      options = false;
    } else if (options && text === "--no-preserve-root") {
      return { pattern: "rm --no-preserve-root", word: word.raw };
    } else if (options && text.startsWith("-") && text !== "-") {
      recursive ||= text === "--recursive" || /^-[^-]*[rR]/.test(text);
    } else {
      targets.push(word);
    }
  }
  const target = targets.find((word) => isProtectedTarget(textOf(word)));
  return recursive && target ? { pattern: "rm -r of /, a top-level directory or the home directory", word: target.raw } : undefined;
}

function findDeletesRoot(args: readonly ShellWord[]): DangerousMatch | undefined {
  const end = args.findIndex((word) => /^[-(!]/.test(textOf(word)));
  const start = args.slice(0, end === -1 ? args.length : end).find((word) => isProtectedTarget(textOf(word)));
  return start && args.some((word) => textOf(word) === "-delete")
    ? { pattern: "find -delete from /, a top-level directory or the home directory", word: start.raw }
    : undefined;
}

const SYMBOLIC_CLAUSE = /^([ugoa]*)([-+=])([rwxXst]*|[ugo])$/;

function dangerousChmod(args: readonly ShellWord[]): DangerousMatch | undefined {
  const operands = args.filter((word) => !/^-[-a-zA-Z]/.test(textOf(word)) || /^-[rwxXst]+$/.test(textOf(word)));
  const [mode, ...files] = operands;
  if (!mode || mode.literal === undefined) return undefined;
  let setId = false;
  let worldWritable = false;
  if (/^[0-7]{1,4}$/.test(mode.literal)) {
    const bits = Number.parseInt(mode.literal, 8);
    setId = (bits & 0o6000) !== 0;
    worldWritable = (bits & 0o002) !== 0;
  } else {
    for (const clause of mode.literal.split(",")) {
      const match = SYMBOLIC_CLAUSE.exec(clause);
      if (!match || match[2] === "-") continue;
      const [, who = "", , perms = ""] = match;
      setId ||= perms.includes("s");
      worldWritable ||= perms.includes("w") && (who === "" || who.includes("a") || who.includes("o"));
    }
  }
  if (setId) return { pattern: "chmod setting setuid or setgid", word: mode.raw };
  const rooted = files.find((word) => textOf(word).startsWith("/"));
  return worldWritable && rooted ? { pattern: "chmod making an absolute path world-writable (777)", word: rooted.raw } : undefined;
}

/** Device files a job may write: the null sinks, its own streams and terminals, and files in /dev/shm. */
const HARMLESS_DEVICES = /^\/dev\/(null|zero|full|random|urandom|stdin|stdout|stderr|tty|fd\/\d+|pts\/\d+|shm\/.+)$/;

function firstDeviceWrite(how: string, writes: readonly { word: ShellWord; path: string }[]): DangerousMatch | undefined {
  const write = writes.find(({ path }) => {
    const normalized = posix.normalize(path);
    return normalized.startsWith("/dev/") && !HARMLESS_DEVICES.test(normalized);
  });
  return write ? { pattern: `writing to a device with ${how} (${write.path})`, word: write.word.raw } : undefined;
}
