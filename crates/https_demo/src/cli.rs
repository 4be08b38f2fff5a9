//! What every binary does before anything else.

/// Lets a closed pipe end the process quietly, as it ends `cat` or `openssl`: Rust ignores
/// SIGPIPE, so `demo_pki inspect cert.pem | head -3` would otherwise panic with "failed printing
/// to stdout: Broken pipe" once `head` has read its lines. Only for a tool that writes to no
/// socket of its own (demo_pki): a vectored write to a socket the peer closed raises SIGPIPE
/// too, and would end a server or a client without a word.
pub fn quiet_on_closed_pipe() {
    // SAFETY: restores the default disposition of one signal before any thread starts; no
    // handler of ours is involved.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
