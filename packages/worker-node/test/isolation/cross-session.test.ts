import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { eventually, type TestWorker } from "../harness.js";
import { describeSandbox } from "../support/conditions.js";
import { startSandboxWorker } from "./sandbox-harness.js";

/**
 * Two sessions share nothing: not the kernel keyring of a reused slot uid, not advisory locks on the
 * system files every session sees, and no kernel surface they could meet on (nested namespaces,
 * vsock). The worker runs one job at a time, so sequential jobs reuse the same slot uid.
 */
let t: TestWorker;

/** perl's syscall() is on every Debian (perl-base); numbers are x86_64's, the only arch CI runs on. String
 * arguments go through variables: perl passes literals read-only. */
const ADD_KEY = 248;
const REQUEST_KEY = 249;
const perl = (code: string) => `perl -e '${code}'`;

describeSandbox("no channel between sessions", () => {
  beforeAll(async () => {
    t = await startSandboxWorker({ worker: { concurrency: 2 } });
  });
  afterAll(() => t.stop());

  it("a key one job adds to its user keyring cannot be added, nor read by the next job on the same uid", async () => {
    const writer = await t.client.run({
      command: `id -u; ${perl(`my ($t, $d, $p) = ("user", "ocw-channel", "secret-1234"); my $r = syscall(${ADD_KEY}, $t, $d, $p, 11, -4); print "add=$r errno=", $!+0, "\\n"`)}`,
    });
    const reader = await t.client.run({
      command: `id -u; ${perl(`my ($t, $d) = ("user", "ocw-channel"); my $r = syscall(${REQUEST_KEY}, $t, $d, 0, -4); print "request=$r errno=", $!+0, "\\n"`)}; cat /proc/keys 2>/dev/null; true`,
    });
    const [writerUid, added] = writer.stdoutText.trim().split("\n");
    const [readerUid, requested] = reader.stdoutText.trim().split("\n");
    expect(readerUid).toBe(writerUid);
    expect(added).toBe("add=-1 errno=38"); // ENOSYS: the seccomp filter
    expect(requested).toBe("request=-1 errno=38");
    expect(reader.stdoutText).not.toContain("ocw-channel");
  });

  it.each(["/usr/bin/env", "/etc/passwd", "/dev/null"])(
    "a lock one job holds on %s is not seen by a job of another session",
    async (file) => {
      const holder = await t.client.dispatch({ command: `flock -x ${file} sh -c 'echo locked; sleep 3'` });
      let locked = false;
      holder.onStdout(() => (locked = true));
      await eventually(() => locked);
      const other = await t.client.run({ command: `flock -n ${file} echo free || echo taken` });
      expect(other.stdoutText).toBe("free\n");
      await holder.cancel("done");
    },
  );

  it("cannot create nested user (or any) namespaces", async () => {
    const result = await t.client.run({ command: "unshare -Ur id -u 2>&1; unshare -n true 2>&1; echo end" });
    expect(result.stdoutText).not.toMatch(/^0$/m);
    expect(result.stdoutText).toMatch(/Operation not permitted/);
    expect(result.stdoutText.trim().endsWith("end")).toBe(true);
  });

  it("cannot open AF_VSOCK (or other non-inet, non-unix) sockets; ordinary ones work", async () => {
    const result = await t.client.run({
      command: perl(
        'for my $f (40, 17, 38, 1, 2, 10) { my $ok = socket(my $s, $f, ($f == 17 ? 3 : 1), 0); print "$f=", ($ok ? "ok" : $!+0), "\\n" }',
      ),
    });
    // 40 vsock, 17 packet, 38 alg: EAFNOSUPPORT (97). 1 unix, 2 inet, 10 inet6: created.
    expect(result.stdoutText.trim().split("\n")).toEqual(["40=97", "17=97", "38=97", "1=ok", "2=ok", "10=ok"]);
  });
});
