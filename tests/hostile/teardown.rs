//! A tracked call from a thread-local destructor, after the thread's own state is gone:
//! not recorded (there is no stack to put it on), but counted as dropped, never a panic.

use trunk_ci_analytics::{Config, track_event};

use crate::hostile_support::{child_command, field, run};

#[track_event]
fn from_a_destructor() -> u32 {
    3
}

struct CallsOnDrop;

impl Drop for CallsOnDrop {
    fn drop(&mut self) {
        std::hint::black_box(from_a_destructor());
    }
}

thread_local! {
    static LATE: CallsOnDrop = const { CallsOnDrop };
}

#[test]
fn a_tracked_call_during_thread_teardown_is_counted() {
    let (out, stdout, stderr) = run(&mut child_command("tls_teardown"));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let dropped: u64 = field(&stdout, "TEARDOWN", "dropped")
        .unwrap()
        .parse()
        .unwrap();
    assert!(dropped >= 1, "{stdout}");
}

pub fn tls_teardown_child() {
    let guard = trunk_ci_analytics::init(Config::from_env().summary(false));
    std::thread::spawn(|| {
        // Destructors run in reverse order of first use: `LATE` first used before the
        // runtime's own thread-local, so destroyed after it.
        LATE.with(|_| {});
        from_a_destructor();
    })
    .join()
    .unwrap();
    let report = trunk_ci_analytics::flush(std::time::Duration::from_secs(2));
    println!("TEARDOWN dropped={}", report.dropped);
    drop(guard);
}
