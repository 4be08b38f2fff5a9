//! Where a process listens, read from the kernel (`/proc`): for peers told to bind port 0 that do
//! not print the port they got (nginx, pebble, uwsgi, Caddy). No port is ever chosen by the test,
//! released and handed over, so nothing else can take it in between.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

/// The TCP ports on which process `pid` (its own sockets, not its children's) listens, sorted.
pub fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
                .filter_map(|link| {
                    let link = link.to_string_lossy().into_owned();
                    Some(link.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let mut ports: Vec<u16> = ["tcp", "tcp6"]
        .iter()
        .filter_map(|table| {
            std::fs::read_to_string(Path::new(&format!("/proc/{pid}/net/{table}"))).ok()
        })
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .filter_map(|row| {
                    let cols: Vec<&str> = row.split_whitespace().collect();
                    // local_address is HEXIP:HEXPORT, st 0A is LISTEN, column 9 the inode.
                    let listening = cols.get(3) == Some(&"0A");
                    let ours = cols.get(9).is_some_and(|inode| inodes.contains(*inode));
                    let port = u16::from_str_radix(cols.get(1)?.rsplit(':').next()?, 16).ok()?;
                    (listening && ours).then_some(port)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// Waits (bounded by `limit`) until process `pid` listens on at least `count` TCP ports; returns
/// them, or None if it did not in time (or died).
pub fn wait_listening(pid: u32, count: usize, limit: Duration) -> Option<Vec<u16>> {
    let deadline = Instant::now() + limit;
    loop {
        let ports = listening_ports(pid);
        if ports.len() >= count {
            return Some(ports);
        }
        if Instant::now() >= deadline || !Path::new(&format!("/proc/{pid}")).exists() {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
