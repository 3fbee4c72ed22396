/**
 * What a manifest leaves out: paths `.gitignore` files ignore (the root's and nested ones, with
 * git's precedence: the deepest file with a rule for a path decides).
 */
import { readFileSync } from "node:fs";
import ignore, { type Ignore } from "ignore";

/** The `.gitignore` rules in force in one directory: its own file's, then its parents'. */
export class GitignoreRules {
  private constructor(
    /** The directory the rules of `own` are relative to ("" for the root), '/'-separated. */
    private readonly base: string,
    private readonly own: Ignore | undefined,
    private readonly parent: GitignoreRules | undefined,
  ) {}

  static readonly none = new GitignoreRules("", undefined, undefined);

  /** The rules inside `dir` (relative to the root), adding its `.gitignore` (which the caller saw listed). */
  enter(dir: string, absoluteDir: string): GitignoreRules {
    let text: string;
    try {
      text = readFileSync(`${absoluteDir}/.gitignore`, "utf8");
    } catch (error) {
      // Gone since the listing, or a directory named .gitignore: no rules.
      if (["ENOENT", "ENOTDIR", "EISDIR"].includes((error as NodeJS.ErrnoException).code ?? "")) return this;
      throw error;
    }
    return new GitignoreRules(dir, ignore().add(text), this);
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
