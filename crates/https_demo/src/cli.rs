//! What every binary does before anything else.

/// Lets a closed pipe end the process quietly, as it ends `cat` or `openssl`: Rust ignores
/// SIGPIPE, so `demo_pki inspect cert.pem | head -3` would otherwise panic with "failed printing
/// to stdout: Broken pipe" once `head` has read its lines.
pub fn quiet_on_closed_pipe() {
    // SAFETY: restores the default disposition of one signal before any thread starts; no
    // handler of ours is involved.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
