//! Whether `exec` runs under a terminal's job control: it has a controlling terminal. Asked of
//! the terminal itself (`tcgetpgrp`, which only the controlling terminal answers), not of
//! stdin, which a person at a terminal may well redirect (`exec -- cmd < /dev/null`) while the
//! command still talks to the terminal through `/dev/tty`.

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

/// Whether this process has a controlling terminal: `/dev/tty`, or where it cannot be
/// opened, one of the standard descriptors, is a terminal whose foreground process group
/// can be asked.
pub(crate) fn controlling() -> bool {
    let tty = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open("/dev/tty");
    match tty {
        Ok(tty) => answers(tty.as_raw_fd()),
        Err(_) => (0..=2).any(answers),
    }
}

/// Whether `fd` is this process's controlling terminal.
fn answers(fd: libc::c_int) -> bool {
    // SAFETY: isatty and tcgetpgrp only inspect the descriptor; an unused one fails.
    unsafe { libc::isatty(fd) == 1 && libc::tcgetpgrp(fd) >= 0 }
}
