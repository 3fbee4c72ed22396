import { describe, expect, it } from "@jest/globals";
import { assertSandboxableSessionDir, buildSandboxCommand, shellQuote, wrapperScript, type SandboxCommandSpec } from "./args.js";
import { LAUNCHER_IN_SANDBOX, SECCOMP_FD, STATUS_FD } from "./launcher.js";
import { NET_BLOCK_FD, NET_INFO_FD } from "./open-network.js";

const spec = (overrides: Partial<SandboxCommandSpec> = {}): SandboxCommandSpec => ({
  tools: { sh: "/bin/sh", bwrap: "/usr/bin/bwrap", launcher: "/opt/ow/native/build/sandbox-launcher" },
  systemMounts: ["--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin"],
  systemBinds: { system: [], devices: [] },
  sessionDir: "/srv/ow/sessions/session-1",
  uid: 200001,
  gid: 200001,
  network: "restricted",
  cgroupProcsFiles: ["/sys/fs/cgroup/pids/ow/session-1/cgroup.procs"],
  rlimits: { nofile: 4096, fileSizeBytes: 1 << 20, nproc: 33 },
  seccomp: true,
  argv: ["node", "-e", "1"],
  env: { PATH: "/usr/bin", LD_PRELOAD: "/srv/ow/sessions/session-1/work/x.so" },
  cwd: "/srv/ow/sessions/session-1/work",
  readOnlyBinds: [],
  ...overrides,
});

describe("buildSandboxCommand", () => {
  it("binds extra paths read-only under parents the job's uid can traverse, made before the launcher's bind", () => {
    const readOnlyBinds = [
      { source: "/opt/opencode/base", target: "/opt/opencode/base" },
      { source: "/srv/ow/sessions/session-1/gateway/model.sock", target: "/run/opencode-worker/model.sock" },
    ];
    const { args } = buildSandboxCommand(spec({ readOnlyBinds }));
    const text = args.join(" ");
    expect(text).toContain(
      "--perms 0755 --dir /opt --perms 0755 --dir /opt/opencode --perms 0755 --dir /run --perms 0755 --dir /run/opencode-worker",
    );
    expect(text).toContain(
      "--ro-bind /opt/opencode/base /opt/opencode/base --ro-bind /srv/ow/sessions/session-1/gateway/model.sock /run/opencode-worker/model.sock",
    );
    // bwrap would otherwise create /run/opencode-worker 0700 root for the launcher, and the slot uid could not enter it.
    expect(text.indexOf("--dir /run/opencode-worker")).toBeLessThan(
      text.indexOf(`--ro-bind /opt/ow/native/build/sandbox-launcher ${LAUNCHER_IN_SANDBOX}`),
    );
  });

  it("hands the job's environment to the launcher, which applies it only after the drop", () => {
    const { file, args } = buildSandboxCommand(spec());
    expect(file).toBe("/bin/sh");
    const separator = args.indexOf("--");
    expect(args.slice(separator - 5, separator)).toEqual([
      "--ro-bind",
      "/opt/ow/native/build/sandbox-launcher",
      LAUNCHER_IN_SANDBOX,
      "--seccomp",
      String(SECCOMP_FD),
    ]);
    expect(args.slice(separator + 1)).toEqual([
      LAUNCHER_IN_SANDBOX,
      "200001",
      "200001",
      "/srv/ow/sessions/session-1/work",
      String(STATUS_FD),
      "2",
      "PATH=/usr/bin",
      "LD_PRELOAD=/srv/ow/sessions/session-1/work/x.so",
      "node",
      "-e",
      "1",
    ]);
    expect(args).not.toContain("--setenv");
  });

  it("binds the slot's own view of the system files and device nodes where it has one", () => {
    const { args } = buildSandboxCommand(
      spec({
        systemBinds: {
          system: [{ source: "/srv/ow/sessions/.system/slot-200001/0", target: "/usr" }],
          devices: [{ source: "/srv/ow/sessions/.system/slot-200001/dev/null", target: "/dev/null" }],
        },
      }),
    );
    const text = args.join(" ");
    expect(text).toContain("--ro-bind /srv/ow/sessions/.system/slot-200001/0 /usr --symlink usr/bin /bin");
    expect(text).toContain("--dev /dev --dev-bind /srv/ow/sessions/.system/slot-200001/dev/null /dev/null");
    expect(buildSandboxCommand(spec()).args.join(" ")).toContain("--ro-bind /usr /usr --symlink usr/bin /bin");
  });

  it("passes no seccomp descriptor when there is no program", () => {
    expect(buildSandboxCommand(spec({ seccomp: false })).args).not.toContain("--seccomp");
  });

  it("unshares the network always; when it is open, bwrap waits for the driver to connect it", () => {
    const restricted = buildSandboxCommand(spec()).args.join(" ");
    expect(restricted).toContain("--unshare-net");
    expect(restricted).not.toContain("--block-fd");
    const open = buildSandboxCommand(spec({ network: "open" })).args.join(" ");
    expect(open).toContain(`--unshare-net --info-fd ${NET_INFO_FD} --block-fd ${NET_BLOCK_FD}`);
  });

  it("binds the session at its own path, /tmp and /dev/shm to its tmp, with traversable parents", () => {
    const { args } = buildSandboxCommand(spec());
    const text = args.join(" ");
    expect(text).toContain("--bind /srv/ow/sessions/session-1/tmp /tmp --bind /srv/ow/sessions/session-1/tmp /dev/shm");
    expect(text).toContain(
      "--perms 0755 --dir /srv --perms 0755 --dir /srv/ow --perms 0755 --dir /srv/ow/sessions --bind /srv/ow/sessions/session-1 /srv/ow/sessions/session-1",
    );
    expect(text).toContain("--cap-drop ALL --cap-add CAP_SETUID --cap-add CAP_SETGID --cap-add CAP_SETPCAP");
  });

  it("rejects what execve would misread", () => {
    expect(() => buildSandboxCommand(spec({ env: { "A=B": "1" } }))).toThrow(/env/);
    expect(() => buildSandboxCommand(spec({ argv: [] }))).toThrow(/argv/);
    expect(() => buildSandboxCommand(spec({ cwd: "work" }))).toThrow(/cwd/);
  });

  it("refuses session dirs the sandbox would hide (/tmp is fine: it is bound first)", () => {
    expect(() => assertSandboxableSessionDir("/usr/local/s/session-1")).toThrow(/under \/usr/);
    expect(() => assertSandboxableSessionDir("/dev/shm/session-1")).toThrow(/under \/dev/);
    expect(() => assertSandboxableSessionDir("/tmp/ow/session-1")).not.toThrow();
  });
});

describe("wrapperScript", () => {
  it("joins every cgroup before anything else and fails closed", () => {
    const script = wrapperScript(["/a/cgroup.procs", "/b'c/cgroup.procs"], { nofile: 4096, fileSizeBytes: 1 << 20, nproc: 33 });
    expect(script).toBe(
      "{ echo $$ >'/a/cgroup.procs' && echo $$ >'/b'\\''c/cgroup.procs'; } 2>/dev/null || " +
        "{ echo 'opencode-worker sandbox: cannot join the session cgroup' >&2; exit 125; }; " +
        "ulimit -c 0 && ulimit -n 4096 && ulimit -f 2048 && ulimit -p 33 || " +
        "{ echo 'opencode-worker sandbox: cannot set rlimits' >&2; exit 125; }; exec \"$@\"",
    );
  });

  it("quotes for POSIX sh", () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});
