//! A sandbox's own network namespace, shared by every jailed command of the sandbox, so
//! that a dev server started as a process is reachable from Claude's commands, its
//! terminals and sandboxql's preview proxy — and still from nothing outside.
//!
//! The server (root) makes it on a short-lived thread: `unshare(CLONE_NEWNET)` moves only
//! that thread, loopback is brought up, and the thread's namespace is kept open as a file
//! descriptor; the namespace lives exactly as long as that descriptor or a process in it
//! (nothing is mounted, so a crashed server leaves nothing behind). Commands join it with
//! `nsenter --net=/proc/{server}/fd/{n}` before they drop to the sandbox's uid; sockets the
//! server makes on a thread that entered it (the gateway's loopback port, preview
//! connections) belong to it wherever they are used afterwards.

use std::{
    io,
    os::fd::{AsFd, AsRawFd, OwnedFd},
};

use rustix::{
    fs::{Mode, OFlags},
    thread::{LinkNameSpaceType, UnshareFlags},
};

/// An open network namespace.
#[derive(Debug)]
pub struct NetNs {
    fd: OwnedFd,
}

impl NetNs {
    /// A new namespace with loopback up and no other interface.
    pub fn create() -> io::Result<Self> {
        on_own_thread(|| {
            // SAFETY: only the network namespace of this thread (which ends right after)
            // changes; no file descriptor table is unshared.
            unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNET) }?;
            loopback_up()?;
            let fd = rustix::fs::open("/proc/thread-self/ns/net", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
            Ok(Self { fd })
        })
    }

    /// The path a child process opens to join it (valid while `self` lives).
    pub fn path(&self) -> String {
        format!("/proc/{}/fd/{}", std::process::id(), self.fd.as_raw_fd())
    }

    /// Runs `f` on a thread inside the namespace: sockets it makes belong to it.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
        on_own_thread(|| {
            rustix::thread::move_into_link_name_space(self.fd.as_fd(), Some(LinkNameSpaceType::Network))?;
            f()
        })
    }
}

/// Runs `f` on a new thread, so namespace changes never touch one of the server's.
fn on_own_thread<T: Send>(f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    std::thread::scope(|s| s.spawn(f).join().unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked"))))
}

/// Sets `lo` up in the calling thread's network namespace.
fn loopback_up() -> io::Result<()> {
    let sock = rustix::net::socket(rustix::net::AddressFamily::INET, rustix::net::SocketType::DGRAM, None)?;
    // SAFETY: `ifreq` is plain old data; the ioctls read and write only that struct,
    // whose name is NUL-terminated within its bounds.
    unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Needs root (CAP_SYS_ADMIN); the suite runs as root, so it fails loudly elsewhere.
    #[test]
    fn a_port_bound_inside_is_reachable_inside_and_not_from_the_host() {
        let ns = NetNs::create().expect("creating a network namespace needs root");
        let listener = ns.enter(|| std::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let inside = ns.enter(move || std::net::TcpStream::connect(("127.0.0.1", port))).unwrap();
        assert!(listener.accept().is_ok(), "reached from inside");
        drop(inside);
        // From the host's loopback the port is another (or no) socket: nothing reaches ours.
        let _ = std::net::TcpStream::connect(("127.0.0.1", port));
        listener.set_nonblocking(true).unwrap();
        let from_host = listener.accept().map(|_| ()).map_err(|e| e.kind());
        assert_eq!(from_host, Err(io::ErrorKind::WouldBlock), "not reached from the host");
        assert!(ns.path().starts_with("/proc/"));
    }
}
