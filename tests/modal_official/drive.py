"""Drive the fake Modal server with Modal's official Python client (`modal` 1.6.4).

The fake (tests/api/helpers/fake_modal*.rs) is only trusted because the official client runs
its whole sandbox life cycle against it, through public API only: app lookup, two v2 volumes,
sandbox create (V2) with an encrypted port, exec with stdin/stdout/env and a pty, lookup by
name, the port served through its tunnel over TLS, terminate and wait, the file
the exec wrote read back from the volume at rest, and a v1 volume listed with the v1 call.
tests/api/modal_official.rs runs it.

Usage (with the client's venv python):
    MODAL_SERVER_URL=http://127.0.0.1:PORT MODAL_TOKEN_ID=... MODAL_TOKEN_SECRET=... \
        DRIVE_TUNNEL_PORT=N DRIVE_TUNNEL_CA=ca.pem python drive.py APP_NAME VOLUME_NAME [SANDBOX_NAME]
(or DRIVE_APP / DRIVE_VOLUME / DRIVE_SANDBOX). Volumes are VOLUME_NAME-ws and VOLUME_NAME-home.
Prints one JSON line per step; exits 1 with {"ok": false, ...} on the first failure.
"""

import json
import os
import ssl
import sys
import time
import traceback
import urllib.error
import urllib.request

import modal

_step = "start"


def report(step: str, **info) -> None:
    global _step
    _step = step
    print(json.dumps({"step": step, "ok": True, **info}), flush=True)


def check(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(what)


def main() -> None:
    args = sys.argv[1:]
    app_name = args[0] if len(args) > 0 else os.environ.get("DRIVE_APP", "")
    vol_name = args[1] if len(args) > 1 else os.environ.get("DRIVE_VOLUME", "")
    sb_name = args[2] if len(args) > 2 else os.environ.get("DRIVE_SANDBOX", f"{app_name}-sb")
    check(bool(app_name and vol_name), "usage: drive.py APP_NAME VOLUME_NAME [SANDBOX_NAME]")
    # The port the sandbox opens through a tunnel, and the CA the fake's tunnels use.
    tunnel_port = int(os.environ["DRIVE_TUNNEL_PORT"])
    tunnel_ca = os.environ["DRIVE_TUNNEL_CA"]

    global _step
    _step = "app"  # the step a failure is reported under
    app = modal.App.lookup(app_name, create_if_missing=True)
    report("app", app_id=app.app_id)

    _step = "volumes"
    ws_vol = modal.Volume.from_name(f"{vol_name}-ws", create_if_missing=True, version=2)
    home_vol = modal.Volume.from_name(f"{vol_name}-home", create_if_missing=True, version=2)
    ws_vol.hydrate()
    home_vol.hydrate()
    report("volumes", workspace=ws_vol.object_id, home=home_vol.object_id)

    _step = "create"
    # from_registry without add_python is a single layer with the WORKSPACE namespace: one
    # ImageGetOrCreate (+ ImageJoinStreaming while unbuilt). debian_slim is also one layer but
    # in the GLOBAL namespace, with apt/pip build steps the fake would have to accept.
    image = modal.Image.from_registry("debian:bookworm-slim")
    sb = modal.Sandbox.create(
        "sleep",
        "infinity",
        app=app,
        image=image,
        volumes={"/mnt/workspace": ws_vol, "/mnt/home": home_vol},
        name=sb_name,
        timeout=600,
        workdir="/mnt/workspace",
        outbound_domain_allowlist=["gateway.example"],
        cpu=1.0,
        memory=512,
        encrypted_ports=[tunnel_port],
    )
    report("create", sandbox_id=sb.object_id, image_id=image.object_id)

    _step = "exec"
    p = sb.exec("sh", "-c", "cat > hello.txt && echo -n wrote", env={"K": "V"})
    p.stdin.write(b"hi from stdin")
    p.stdin.write_eof()
    p.stdin.drain()
    out = p.stdout.read()
    code = p.wait()
    if code != 0:
        raise AssertionError(f"exec exit code {code}, stderr {p.stderr.read()!r}")
    check(out == "wrote", f"exec stdout {out!r}")
    report("exec", stdout=out, returncode=code)

    _step = "exec_env"
    p2 = sb.exec("sh", "-c", 'printf %s "$K"', env={"K": "V"})
    out2 = p2.stdout.read()
    check(p2.wait() == 0 and out2 == "V", f"env exec gave {out2!r}, exit {p2.returncode}")
    report("exec_env", stdout=out2)

    _step = "exec_pty"
    # A terminal as the client makes one: PTYInfo on TaskExecStart, input on stdin, all
    # output on stdout, stderr empty.
    p3 = sb.exec("sh", "-c", 'read line; echo "got=$line tty=$(tty) term=$TERM"', pty=True)
    p3.stdin.write(b"typed\n")
    p3.stdin.drain()
    out3 = p3.stdout.read()
    out3 = out3 if isinstance(out3, str) else out3.decode()
    check(p3.wait() == 0, f"pty exec exit {p3.returncode}")
    check("got=typed" in out3 and "tty=/dev/pts/" in out3, f"pty exec gave {out3!r}")
    report("exec_pty", stdout=out3)

    _step = "from_name"
    found = modal.Sandbox.from_name(app_name, sb_name)
    check(found.object_id == sb.object_id, f"from_name gave {found.object_id}, want {sb.object_id}")
    report("from_name", sandbox_id=found.object_id)

    _step = "tunnel"
    # A server in the sandbox, reached through the tunnel `tunnels()` names: the create's
    # answer on the created handle, `SandboxGetTunnelsV2` on the one found by name.
    sb.exec("python3", "-m", "http.server", str(tunnel_port), "--bind", "127.0.0.1")
    created, looked_up = sb.tunnels()[tunnel_port], found.tunnels()[tunnel_port]
    check((created.host, created.port) == (looked_up.host, looked_up.port), f"{created} vs {looked_up}")
    context = ssl.create_default_context(cafile=tunnel_ca)
    body = b""
    for _ in range(50):
        try:
            with urllib.request.urlopen(f"{looked_up.url}/hello.txt", context=context, timeout=5) as resp:
                body = resp.read()
                break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    check(body == b"hi from stdin", f"the tunnel served {body!r}")
    report("tunnel", url=looked_up.url)

    _step = "terminate"
    sb.terminate()
    sb.wait(raise_on_termination=False)
    check(sb.returncode is not None, "returncode unset after wait")
    report("terminate", returncode=sb.returncode)

    _step = "volume"
    entries = ws_vol.listdir("/", recursive=True)
    paths = sorted(e.path for e in entries)
    check("hello.txt" in paths, f"hello.txt not listed in workspace volume: {paths}")
    data = b"".join(ws_vol.read_file("hello.txt"))
    check(data == b"hi from stdin", f"hello.txt holds {data!r}")
    report("volume", paths=paths, content=data.decode())

    _step = "volume_v1"
    # A v1 volume is listed with the v1 call (`_is_v1`); the fake refuses the other one.
    v1 = modal.Volume.from_name(f"{vol_name}-v1", create_if_missing=True, version=1)
    check(v1.listdir("/") == [], "a new v1 volume lists empty")
    report("volume_v1", volume=v1.object_id)


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:
        print(json.dumps({"step": _step, "ok": False, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
        traceback.print_exc()
        sys.exit(1)
