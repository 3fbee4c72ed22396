import { describe, expect, it } from "@jest/globals";
import { CommandDeniedError } from "../command-denied.js";
import { commandsOf, type ShellList, type SimpleCommand } from "./ast.js";
import { parseShellScript, ShellParseError } from "./parser.js";
import { parseVerifiedShell } from "./structure.js";

function simple(list: ShellList, index = 0): SimpleCommand {
  const command = commandsOf(list)[index];
  if (command?.kind !== "simple") throw new Error(`command ${index} is not simple`);
  return command;
}

describe("parseShellScript", () => {
  it("removes quotes the way the shell does", () => {
    const words = simple(parseShellScript(`"r"m 'a b' c\\ d "x\\"y" e\\\nf`, "posix")).words;
    expect(words.map((word) => word.literal)).toEqual(["rm", "a b", "c d", 'x"y', "ef"]);
  });

  it("marks expansions: parameters and substitutions are not literal, globs, braces and ~ expand", () => {
    const words = simple(parseShellScript("a $x ${y} $(z) *.ts {a,b} ~/x '*'", "posix")).words;
    expect(words.map((word) => word.literal === undefined)).toEqual([false, true, true, true, false, false, false, false]);
    expect(words.map((word) => word.expands)).toEqual([false, false, false, false, true, true, true, false]);
    expect(words[3]?.substitutions).toHaveLength(1);
  });

  it("reads $'...' as bash does in bash and as dash does in POSIX sh", () => {
    expect(simple(parseShellScript("$'\\x72m'", "bash")).words[0]?.literal).toBeUndefined();
    expect(simple(parseShellScript("$'rm'", "bash")).words[0]?.literal).toBe("rm");
    expect(simple(parseShellScript("$'rm'", "posix")).words[0]?.literal).toBe("$rm");
  });

  it("unescapes backquoted bodies before parsing them", () => {
    const outer = simple(parseShellScript("echo `a \\`b\\``", "posix")).words[1];
    const inner = outer?.substitutions[0];
    expect(inner && simple(inner).words[0]?.literal).toBe("a");
    const innermost = inner && simple(inner).words[1]?.substitutions[0];
    expect(innermost && simple(innermost).words[0]?.literal).toBe("b");
  });

  it("expands unquoted here-documents and leaves quoted ones alone", () => {
    const [expanded, quoted] = ["cat <<EOF\n$(a)\nEOF", "cat <<'EOF'\n$(a)\nEOF"].map(
      (text) => simple(parseShellScript(text, "posix")).redirects[0]?.heredoc,
    );
    expect(expanded?.substitutions).toHaveLength(1);
    expect(quoted?.substitutions).toHaveLength(0);
    expect(quoted?.literal).toBe("$(a)\n");
  });

  it("reads statements after a here-document body", () => {
    const list = parseShellScript("cat <<EOF | wc\nbody; rm\nEOF\nls", "posix");
    expect(list.statements.map((statement) => statement.start)).toEqual([0, 28]);
  });

  it("fails on what it does not know instead of skipping it", () => {
    expect(() => parseShellScript("coproc x", "bash")).toThrow(ShellParseError);
    expect(() => parseShellScript("echo \"${x:-'$(y)'}\"", "posix")).toThrow(ShellParseError);
  });

  it("bounds nesting", () => {
    const error = (() => {
      try {
        parseShellScript(`${"(".repeat(200)}a${")".repeat(200)}`, "posix");
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ShellParseError);
    expect((error as ShellParseError).tooComplex).toBe(true);
  });
});

describe("parseVerifiedShell", () => {
  it("returns the tree when mvdan/sh splits every list the same way", async () => {
    const tree = await parseVerifiedShell("a; (b; c) | d $(e; f) && { g; }", "posix", "command", "");
    expect(tree.statements).toHaveLength(2);
  });

  it("counts statement offsets in UTF-8 bytes, as mvdan/sh does", async () => {
    // Resolving is the check: mvdan/sh puts the second statement at byte 9 (é takes 2 bytes), our tree at
    // index 8 of the string, and only a count in bytes makes them agree; a disagreement is a denial.
    const tree = await parseVerifiedShell("echo é; echo $(printf ü; ls)", "posix", "command", "");
    expect(tree.statements.map((statement) => statement.start)).toEqual([0, 8]);
  });

  it("denies a text whose nested list mvdan/sh rejects on its own", async () => {
    // The if-condition's here-document body lies after `fi`: our tree is right, but the list's text
    // alone is incomplete, and the policy does not guess past a disagreement.
    const error = await parseVerifiedShell("if cat <<EOF; then ls; fi\nbody\nEOF", "posix", "command", "").catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(CommandDeniedError);
    expect((error as CommandDeniedError).reason).toBe("unanalysable");
  });
});
