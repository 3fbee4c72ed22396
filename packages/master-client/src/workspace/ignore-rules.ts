/**
 * What a manifest leaves out: paths `.gitignore` files ignore (the root's and nested ones, with
 * git's precedence: the deepest file with a rule for a path decides) and paths under a remote-only glob.
 */
import { readFile } from "node:fs/promises";
import ignore, { type Ignore } from "ignore";
import { invalid } from "../validate.js";

/** The `.gitignore` rules in force in one directory: its own file's, then its parents'. */
export class GitignoreRules {
  private constructor(
    /** The directory the rules of `own` are relative to ("" for the root), '/'-separated. */
    private readonly base: string,
    private readonly own: Ignore | undefined,
    private readonly parent: GitignoreRules | undefined,
  ) {}

  static readonly none = new GitignoreRules("", undefined, undefined);

  /** The rules inside `dir` (relative to the root), adding its `.gitignore` when it has one. */
  async enter(dir: string, absoluteDir: string): Promise<GitignoreRules> {
    const text = await readFile(`${absoluteDir}/.gitignore`, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || error.code === "ENOTDIR" || error.code === "EISDIR") return undefined;
      throw error;
    });
    return text === undefined ? this : new GitignoreRules(dir, ignore().add(text), this);
  }

  /** Whether `path` (relative to the root; a directory's with a trailing '/') is ignored. */
  ignores(path: string): boolean {
    for (let rules: GitignoreRules | undefined = this; rules; rules = rules.parent) {
      if (!rules.own) continue;
      const result = rules.own.test(rules.base === "" ? path : path.slice(rules.base.length + 1));
      if (result.ignored) return true;
      if (result.unignored) return false;
    }
    return false;
  }
}

/**
 * A matcher for remote-only globs (`JobSpec.artifacts`' syntax: `*`, `?`, `[a-z]`, `**` as a whole
 * segment), anchored at the root as the worker matches them. Built on gitignore rules, which read
 * those the same way once anchored; braces (`{a,b}`) have no gitignore form and are refused rather
 * than matched differently from the worker.
 */
export function remoteOnlyMatcher(patterns: readonly string[]): (path: string) => boolean {
  if (patterns.length === 0) return () => false;
  const rules = ignore();
  for (const [index, pattern] of patterns.entries()) {
    if (pattern === "" || pattern.startsWith("/") || pattern.startsWith("!") || /[{}]/.test(pattern)) {
      throw invalid(`remoteOnly[${index}]`, "a relative glob without braces, like node_modules/**", pattern);
    }
    rules.add(`/${pattern}`);
  }
  return (path) => rules.ignores(path);
}
