import { readFileSync } from "node:fs";

/**
 * A program from test/fixtures/programs, shaped as a job's input file: `files: { "x.py": fixtureProgram("x.py") }`.
 * Jobs run in a sandbox that does not show them this repository, so a program reaches them only as an input.
 */
export function fixtureProgram(name: string): { content: string; mode: number } {
  return { content: readFileSync(new URL(`../fixtures/programs/${name}`, import.meta.url), "utf8"), mode: 0o755 };
}
