//! What sandboxql adds to a cold start, part by part, each against its own baseline in
//! the same process, rounds alternating:
//! - jail: starting a program (`/usr/bin/true`, start to exit) directly, in the jail the
//!   server builds (bubblewrap, its binds and identity files), with the jail's network
//!   relay in front (the shape a run has), and dropped to a sandbox uid first (`setpriv`,
//!   when root);
//! - shared network (a root server): the same jail joining the sandbox's network
//!   namespace (`nsenter`) whose gateway port this process serves, instead of a relay;
//! - relay: one HTTP request from inside the jail through the relay to a Unix socket vs
//!   the same request over loopback TCP outside, each on a new connection (and through
//!   the shared namespace's in-process port, when root).
//!
//! The other parts have their own benches, quoted beside these figures in
//! `bench/README.md`: gateway (`gateway`), cgroups (`run_start`), database and websocket
//! (`run_start`: startRun → RunStarted), output (`run_stream`).
//!
//! Run: `cargo bench --bench cold_parts` (needs bubblewrap).

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use sandboxql::backend::local::{
    jail::{Jail, JailMode, JailNetwork, Occupant},
    sandbox_net::SandboxNet,
};

const ROUNDS: usize = 40;
/// Requests per jailed client run.
const REQUESTS: usize = 200;
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
/// A uid no one uses, for the setpriv row.
const SANDBOX_UID: u32 = 61_999;

/// Inside the jail (the bench binary started by itself): `REQUESTS` requests to `addr`,
/// each on a new connection; prints each one's microseconds.
fn client(addr: &str) -> anyhow::Result<()> {
    let mut out = String::new();
    for _ in 0..REQUESTS {
        let t = Instant::now();
        let mut s = std::net::TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")?;
        let mut body = Vec::new();
        s.read_to_end(&mut body)?;
        anyhow::ensure!(body.ends_with(b"ok"), "bad answer");
        out.push_str(&format!("{}\n", t.elapsed().as_micros()));
    }
    print!("{out}");
    Ok(())
}

/// Answers every connection of `listener` with `RESPONSE` after reading its request.
fn answer<S: Read + Write + Send + 'static>(mut s: S) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let _ = s.write_all(RESPONSE);
    });
}

fn serve_unix(path: &Path) -> anyhow::Result<()> {
    let l = std::os::unix::net::UnixListener::bind(path)?;
    std::thread::spawn(move || l.incoming().flatten().for_each(answer));
    Ok(())
}

fn serve_tcp() -> anyhow::Result<String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = l.local_addr()?.to_string();
    std::thread::spawn(move || l.incoming().flatten().for_each(answer));
    Ok(addr)
}

struct Place {
    dir: tempfile::TempDir,
}

impl Place {
    fn new(uid: Option<u32>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        for d in ["workspace", "home"] {
            std::fs::create_dir(dir.path().join(d))?;
            if let Some(uid) = uid {
                std::os::unix::fs::chown(dir.path().join(d), Some(uid), Some(uid))?;
            }
        }
        Ok(Self { dir })
    }

    fn argv(&self, jail: &Jail, uid: Option<u32>, argv: &[String]) -> anyhow::Result<Vec<String>> {
        self.argv_in(jail, uid, argv, None)
    }

    fn argv_in(
        &self,
        jail: &Jail,
        uid: Option<u32>,
        argv: &[String],
        net: Option<&str>,
    ) -> anyhow::Result<Vec<String>> {
        let p = self.dir.path();
        let who = Occupant { uid, tmp_bytes: None };
        let wrapped = jail.wrap(argv, p, &p.join("workspace"), &p.join("home"), who, net)?;
        let user = jail.as_user(uid, wrapped);
        Ok(match net {
            Some(path) => jail.in_net(path, user),
            None => user,
        })
    }
}

fn run(argv: &[String]) -> anyhow::Result<(Duration, String)> {
    let t = Instant::now();
    let out = Command::new(&argv[0]).args(&argv[1..]).output()?;
    anyhow::ensure!(out.status.success(), "{argv:?}: {}", String::from_utf8_lossy(&out.stderr));
    Ok((t.elapsed(), String::from_utf8_lossy(&out.stdout).into_owned()))
}

fn p(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn row(name: &str, v: &mut [f64], base: Option<f64>, unit: &str) -> String {
    let (p50, p90) = (p(v, 0.5), p(v, 0.9));
    let vs = base.map(|b| format!("   added p50 {:+8.2} {unit}", p50 - b)).unwrap_or_default();
    format!("{name:<34} p50 {p50:8.2} p90 {p90:8.2} {unit}{vs}")
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--client") {
        return client(args.get(i + 1).map(String::as_str).unwrap_or("127.0.0.1:4000"));
    }
    let me = std::env::current_exe()?;
    let socket_dir = tempfile::tempdir()?;
    let socket = socket_dir.path().join("gateway.sock");
    serve_unix(&socket)?;
    let tcp = serve_tcp()?;
    let relay_bin = PathBuf::from(env!("CARGO_BIN_EXE_sandboxql"));
    let net = JailNetwork { relay_bin, gateway_socket: socket.clone(), egress_socket: None, max_connections: 64 };
    let bare = Jail::probe(JailMode::Always)?;
    let with_net = Jail::probe(JailMode::Always)?.with_network(net);
    let root = bare.gives_uids();
    let (plain, owned) = (Place::new(None)?, Place::new(root.then_some(SANDBOX_UID))?);
    let t = vec!["/usr/bin/true".to_string()];
    // The shared namespace's port is served by this process, on a runtime of its own.
    let rt = tokio::runtime::Runtime::new()?;
    let shared = match with_net.shares_network() {
        true => Some(rt.block_on(async { SandboxNet::start(with_net.network()) })?),
        false => None,
    };
    let net_path = shared.as_ref().map(|n| n.path());
    let mut forms: Vec<(&str, Vec<String>)> = vec![
        ("true, directly", t.clone()),
        ("true, in the jail", plain.argv(&bare, None, &t)?),
        ("true, in the jail with its relay", plain.argv(&with_net, None, &t)?),
        ("  … as the sandbox uid (setpriv)", owned.argv(&with_net, root.then_some(SANDBOX_UID), &t)?),
    ];
    if let Some(path) = &net_path {
        let argv = owned.argv_in(&with_net, Some(SANDBOX_UID), &t, Some(path))?;
        forms.push(("  … on the shared network (nsenter)", argv));
    }
    let mut spawn: Vec<Vec<f64>> = vec![Vec::new(); forms.len()];
    for _ in 0..ROUNDS {
        for (i, (_, argv)) in forms.iter().enumerate() {
            spawn[i].push(run(argv)?.0.as_secs_f64() * 1e3);
        }
    }
    let client_argv = |addr: &str| vec![me.display().to_string(), "--client".into(), addr.to_string()];
    let mut direct = Vec::new();
    let mut relayed = Vec::new();
    let mut in_process = Vec::new();
    for _ in 0..3 {
        let (_, out) = run(&client_argv(&tcp))?;
        direct.extend(out.lines().filter_map(|l| l.parse::<f64>().ok()));
        let (_, out) = run(&plain.argv(&with_net, None, &client_argv("127.0.0.1:4000"))?)?;
        relayed.extend(out.lines().filter_map(|l| l.parse::<f64>().ok()));
        if let Some(path) = &net_path {
            let (_, out) = run(&plain.argv_in(&with_net, None, &client_argv("127.0.0.1:4000"), Some(path))?)?;
            in_process.extend(out.lines().filter_map(|l| l.parse::<f64>().ok()));
        }
    }
    println!("cold_parts: {ROUNDS} rounds alternating; {} requests each way; root: {root}", direct.len());
    let base = p(&mut spawn[0], 0.5);
    for (i, (name, _)) in forms.iter().enumerate() {
        println!("{}", row(name, &mut spawn[i], (i > 0).then_some(base), "ms"));
    }
    let b = p(&mut direct, 0.5);
    println!("{}", row("HTTP request, loopback TCP", &mut direct, None, "µs"));
    println!("{}", row("HTTP request, jail → relay → socket", &mut relayed, Some(b), "µs"));
    if !in_process.is_empty() {
        println!("{}", row("HTTP request, shared net → socket", &mut in_process, Some(b), "µs"));
    }
    drop(shared);
    Ok(())
}
