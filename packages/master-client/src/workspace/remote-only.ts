import { compileGlob, GlobSyntaxError, type GlobMatcher } from "@opencode-worker/shared";
import { invalid } from "../validate.js";

/**
 * Whether a path is remote-only, by the worker's own matcher (shared/src/glob-match.ts), so both
 * sides of the wire agree on every pattern. A path ending in '/' is a directory: the walk skips it
 * whole when a `<dir glob>/**` pattern covers everything under it, and otherwise goes in and asks
 * file by file.
 */
export function remoteOnlyMatcher(patterns: readonly string[]): (path: string) => boolean {
  const files: GlobMatcher[] = [];
  const wholeDirectories: GlobMatcher[] = [];
  for (const [index, pattern] of patterns.entries()) {
    try {
      files.push(compileGlob(pattern));
      if (pattern.endsWith("/**")) wholeDirectories.push(compileGlob(pattern.slice(0, -3)));
    } catch (error) {
      if (!(error instanceof GlobSyntaxError)) throw error;
      throw invalid(`remoteOnly[${index}]`, `a relative glob like node_modules/** (${error.message})`, pattern);
    }
  }
  return (path) => (path.endsWith("/") ? wholeDirectories.some((m) => m(path.slice(0, -1))) : files.some((m) => m(path)));
}
