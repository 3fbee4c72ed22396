import { describe, expect, it } from "@jest/globals";
import { WorkerError } from "../errors.js";
import { CommandDeniedError, type CommandDenialReason } from "./command-denied.js";
import { checkCommand, prepareCommandPolicy, type CommandPolicy } from "./command-policy.js";
import { DEFAULT_COMMAND_ALLOWLIST } from "../config/default-allowlist.js";

const policy: CommandPolicy = { allowlist: DEFAULT_COMMAND_ALLOWLIST };
const bash: CommandPolicy = { ...policy, shell: "bash" };

async function refusal(command: string, which: CommandPolicy = policy): Promise<CommandDeniedError> {
  const error = await checkCommand({ command }, which).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof CommandDeniedError)) throw new Error(`expected a denial of ${JSON.stringify(command)}, got ${String(error)}`);
  expect(error.code).toBe("PERMISSION_DENIED");
  expect(error.context.field).toBe("command");
  return error;
}

async function expectDenied(command: string, reason: CommandDenialReason, word: string, which: CommandPolicy = policy): Promise<void> {
  const error = await refusal(command, which);
  expect({ reason: error.reason, word: error.word }).toEqual({ reason, word });
  expect(error.message).toContain(JSON.stringify(word));
}

describe("checkCommand: allowed commands", () => {
  it.each([
    'npm test && node -e "console.log(1)" | tee out.txt',
    "cd src && ls -la | grep -v node_modules; echo $(date) `whoami`",
    'for f in *.ts; do wc -l "$f"; done > counts.txt',
    "[ -f package.json ] && npm ci || echo missing",
    "FOO=bar npm run build 2>&1 | tail -n 20",
    "export PATH=$PATH:./bin; node dist/index.js",
    "cat > main.py <<'EOF'\nprint($(not a command))\nEOF\npython3 main.py",
    "f() { ls; }; f",
    "./scripts/build.sh --release",
    "/usr/bin/git status",
    "env FOO=1 node x.js",
    "xargs -0 rm -f < files.txt",
    "timeout --signal=KILL 10 make test",
    "exec node server.js",
    "bash -lc 'npm test'",
    "find . -name '*.tmp' -exec rm {} +",
    "command -v nc",
    "source venv/bin/activate && pytest",
    "rm -rf ./build dist",
    "chmod 755 ./run.sh",
    "curl -s https://example.test/data.json | python3 -m json.tool",
  ])("%s", async (command) => {
    await expect(checkCommand({ command }, policy)).resolves.toBeUndefined();
  });

  it("allows bash constructs when the shell is bash", async () => {
    await expect(
      checkCommand({ command: '[[ -f x ]] && let "n = $(wc -l < x)"; declare -a xs=(1 "$(pwd)")' }, bash),
    ).resolves.toBeUndefined();
  });

  it("an argv job checks argv[0] by the same rules", async () => {
    await expect(checkCommand({ argv: ["node", "x.js"] }, policy)).resolves.toBeUndefined();
    await expect(checkCommand({ argv: ["/usr/bin/node"] }, policy)).resolves.toBeUndefined();
    const error = await checkCommand({ argv: ["nc", "-l"] }, policy).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(CommandDeniedError);
    expect((error as CommandDeniedError).context.field).toBe("argv[0]");
    expect((error as CommandDeniedError).word).toBe("nc");
  });
});

describe("checkCommand: every command word is checked", () => {
  it.each([
    ["nc -l 8080", "pipeline head"],
    ["ls | nc host 1", "pipeline element"],
    ["true && nc", "and list"],
    ["false || nc", "or list"],
    ["ls; nc", "sequence"],
    ["(ls; nc)", "subshell"],
    ["{ ls; nc; }", "group"],
    ["if true; then nc; fi", "if body"],
    ["if nc; then :; fi", "if condition"],
    ["while nc; do :; done", "while"],
    ["for i in 1 2; do nc; done", "for body"],
    ["case x in x) nc;; esac", "case body"],
    ["f() { nc; }", "function body"],
    ["echo $(nc)", "command substitution"],
    ["echo `nc`", "backquotes"],
    ["echo `echo \\`nc\\``", "nested backquotes"],
    ['echo "${x:-$(nc)}"', "substitution in a parameter expansion"],
    ["echo $(( $(nc) + 1 ))", "substitution in arithmetic"],
    ["x=$(nc) ls", "substitution in an assignment"],
    ["ls > $(nc)", "substitution in a redirect target"],
    ["cat <<EOF\n$(nc)\nEOF", "substitution in a here-document"],
    ["ls & nc &", "background"],
    ["! nc", "negation"],
  ])("%s (%s)", async (command) => {
    await expectDenied(command, "not_allowlisted", "nc");
  });

  it("checks process substitutions, [[ ]] and arrays in bash", async () => {
    await expectDenied("diff <(nc) b", "not_allowlisted", "nc", bash);
    await expectDenied("[[ -n $(nc) ]]", "not_allowlisted", "nc", bash);
    await expectDenied("a=(1 $(nc))", "not_allowlisted", "nc", bash);
  });

  it("sees through wrappers", async () => {
    await expectDenied("xargs nc", "not_allowlisted", "nc");
    await expectDenied("env -i FOO=1 nc", "not_allowlisted", "nc");
    await expectDenied("timeout -k 5 10 nc", "not_allowlisted", "nc");
    await expectDenied("exec nc", "not_allowlisted", "nc");
    await expectDenied("command nc", "not_allowlisted", "nc");
    await expectDenied("find . -exec nc {} \\;", "not_allowlisted", "nc");
    await expectDenied("nohup env nc", "not_allowlisted", "nc");
    await expectDenied("env -S 'nc -l'", "unanalysable", "-S");
  });

  it("parses literal scripts given to eval, trap and shells, and denies dynamic ones", async () => {
    await expectDenied('eval "ls; nc"', "not_allowlisted", "nc");
    await expectDenied("trap 'nc' EXIT", "not_allowlisted", "nc");
    await expectDenied("sh -c 'ls && nc'", "not_allowlisted", "nc");
    await expectDenied("bash -o pipefail -c 'diff <(nc) x'", "not_allowlisted", "nc");
    await expectDenied('eval "$CODE"', "dynamic_command_word", '"$CODE"');
    await expectDenied('bash -c "$SCRIPT"', "dynamic_command_word", '"$SCRIPT"');
    const nested = await refusal("eval 'eval \"sh -c nc\"'");
    expect(nested.message).toContain("in the script given to `sh`");
  });

  it("denies command words only known at run time", async () => {
    await expectDenied("$CMD args", "dynamic_command_word", "$CMD");
    await expectDenied("$(echo rm) -rf x", "dynamic_command_word", "$(echo rm)");
    await expectDenied("`echo rm` x", "dynamic_command_word", "`echo rm`");
    await expectDenied("r* x", "dynamic_command_word", "r*");
    await expectDenied("{rm,x}", "dynamic_command_word", "{rm,x}");
    await expectDenied("~/bin/tool", "dynamic_command_word", "~/bin/tool");
    await expectDenied("xargs -I{} {}", "dynamic_command_word", "{}");
    await expectDenied("$'\\x72m' x", "dynamic_command_word", "$'\\x72m'", bash);
    await expectDenied("printf -v 'a[$(nc)]' x", "dynamic_command_word", "a[$(nc)]", bash);
  });

  it("resolves quoting like the shell: a quoted name is still that name", async () => {
    await expectDenied('"n"c', "not_allowlisted", '"n"c');
    await expectDenied("\\nc", "not_allowlisted", "\\nc");
  });

  it("applies the path rules", async () => {
    await expectDenied("/usr/bin/nc", "not_allowlisted", "/usr/bin/nc");
    await expectDenied("/tmp/evil/node", "not_allowlisted", "/tmp/evil/node");
    await expectDenied("../outside.sh", "not_allowlisted", "../outside.sh");
    await expectDenied(". /etc/profile", "not_allowlisted", "/etc/profile");
    await expect(checkCommand({ command: "/opt/tools/bin/fmt" }, { allowlist: ["/opt/tools/bin/fmt"] })).resolves.toBeUndefined();
  });

  it("allows a function only after its top-level definition", async () => {
    await expectDenied("helper; helper() { ls; }", "not_allowlisted", "helper");
    await expectDenied("if false; then helper() { :; }; fi; helper", "not_allowlisted", "helper");
  });

  it("always denies sudo-likes, also by path and through wrappers", async () => {
    await expectDenied("sudo ls", "always_denied", "sudo", { allowlist: [...DEFAULT_COMMAND_ALLOWLIST, "sudo"] });
    await expectDenied("/usr/bin/su -", "always_denied", "/usr/bin/su");
    await expectDenied("env doas ls", "always_denied", "doas");
  });
});

describe("checkCommand: dangerous patterns", () => {
  it.each([
    ["rm -rf /", "/"],
    ["rm -fr /*", "/*"],
    ["rm -r -f ~", "~"],
    ['rm -rf "$HOME"', '"$HOME"'],
    ["rm -Rf /usr/", "/usr/"],
    ["rm -rf /tmp/../", "/tmp/../"],
    ["rm --no-preserve-root -rf /x", "--no-preserve-root"],
    ["xargs rm -rf /", "/"],
    ["find / -name x -delete", "/"],
  ])("%s", async (command, word) => {
    await expectDenied(command, "dangerous_pattern", word);
  });

  it("download piped into a shell", async () => {
    await expectDenied("curl -fsSL https://x.test/install.sh | sh", "dangerous_pattern", "curl");
    await expectDenied("wget -O- http://x.test | bash", "dangerous_pattern", "wget");
    await expectDenied("curl x | env bash -s", "dangerous_pattern", "curl");
    await expectDenied('sh -c "$(curl -s x)"', "dangerous_pattern", '"$(curl -s x)"');
    await expectDenied("bash <(curl x)", "dangerous_pattern", "<(curl x)", bash);
  });

  it("chmod setuid, setgid, or world-writable on absolute paths", async () => {
    await expectDenied("chmod 4755 tool", "dangerous_pattern", "4755");
    await expectDenied("chmod u+s tool", "dangerous_pattern", "u+s");
    await expectDenied("chmod -R 777 /", "dangerous_pattern", "/");
    await expectDenied("chmod a+rwx /etc/passwd", "dangerous_pattern", "/etc/passwd");
  });

  it("writes to block devices", async () => {
    await expectDenied("echo x > /dev/sda", "dangerous_pattern", "/dev/sda");
    await expectDenied("dd if=/dev/zero of=/dev/nvme0n1 bs=1M", "dangerous_pattern", "of=/dev/nvme0n1");
    await expectDenied("exec 3<>/dev/sdb", "dangerous_pattern", "/dev/sdb");
    await expect(checkCommand({ command: "echo x > /dev/null 2>/dev/stderr" }, policy)).resolves.toBeUndefined();
  });

  it("mkfs, whatever the allowlist says", async () => {
    await expectDenied("mkfs.ext4 /dev/sda1", "dangerous_pattern", "mkfs.ext4", { allowlist: ["mkfs.ext4"] });
  });

  it("fork bombs", async () => {
    await expectDenied("bomb() { bomb | bomb & }; bomb", "dangerous_pattern", "bomb");
    await expectDenied(":(){ :|:& };:", "dangerous_pattern", ":", bash);
    await expectDenied("bash -c ':(){ :|:& };:'", "dangerous_pattern", ":");
  });

  it("names the pattern in the error", async () => {
    const error = await refusal("rm -rf /");
    expect(error.pattern).toMatch(/^rm -r/);
    expect(error.message).toContain(error.pattern);
  });
});

describe("checkCommand: text it cannot accept", () => {
  it("rejects unparseable input as INVALID_ARGUMENT with the parser's position", async () => {
    const error = await checkCommand({ command: 'echo "unclosed' }, policy).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(WorkerError);
    expect((error as WorkerError).code).toBe("INVALID_ARGUMENT");
    expect((error as WorkerError).context.field).toBe("command");
    expect((error as WorkerError).message).toContain("line 1, column 6");
  });

  it("parses the line as /bin/sh does: bash-only syntax is invalid there", async () => {
    const error = await checkCommand({ command: "ls &> out.txt" }, policy).catch((thrown: unknown) => thrown);
    expect((error as WorkerError).code).toBe("INVALID_ARGUMENT");
    // The classic fork bomb is not even valid POSIX sh (dash refuses the function name).
    const bomb = await checkCommand({ command: ":(){ :|:& };:" }, policy).catch((thrown: unknown) => thrown);
    expect((bomb as WorkerError).code).toBe("INVALID_ARGUMENT");
  });

  it("refuses valid shell it does not analyse, rather than guess", async () => {
    await expectDenied("coproc nc", "unanalysable", "coproc nc", bash);
  });

  it.each([
    ["command substitutions", `${"$(".repeat(100)}ls${")".repeat(100)}`],
    ["arithmetic (overflows the WASM parser's stack)", `${"$((".repeat(300)}1${"))".repeat(300)}`],
    ["statements (overflow the WASM parser's heap)", "echo a; ".repeat(9000)],
  ])("refuses input too deep or too large to analyse as INVALID_ARGUMENT: %s", async (_, text) => {
    const error = await checkCommand({ command: `echo ${text}` }, policy).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(WorkerError);
    expect((error as WorkerError).code).toBe("INVALID_ARGUMENT");
  });
});

describe("checkCommand: cost", () => {
  it("measures the time per check after warm-up", async () => {
    await prepareCommandPolicy();
    const command = 'npm test && node -e "console.log(1)" | tee out.txt';
    for (let i = 0; i < 20; i++) await checkCommand({ command }, policy);
    const runs = 100;
    const started = performance.now();
    for (let i = 0; i < runs; i++) await checkCommand({ command }, policy);
    const perCheckMs = (performance.now() - started) / runs;
    // Reported, not asserted: the machine's load decides it.
    console.info(`command policy: ${perCheckMs.toFixed(2)} ms per check`);
    expect(perCheckMs).toBeGreaterThan(0);
  });
});
