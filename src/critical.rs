//! Critical sections a SIGINT or SIGTERM must not cut short: from the moment `rotate` asks the
//! cloud for a new key until its secret is saved (or the key is deleted again), stopping would
//! lose the only copy of the secret. `main` waits on [`interrupted`] instead of on the signal
//! itself: it resolves at the first signal when no [`Guard`] is held, or else as soon as the
//! last one is dropped; then the command is dropped and cloudkeys exits 130.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio::sync::Notify;

static HELD: AtomicUsize = AtomicUsize::new(0);
static SIGNALLED: AtomicBool = AtomicBool::new(false);

/// Whether a SIGINT or SIGTERM came: the run ends as interrupted (exit 130) even when the
/// command got to finish what it was doing.
pub fn signalled() -> bool {
    SIGNALLED.load(Ordering::SeqCst)
}

fn released() -> &'static Notify {
    static RELEASED: OnceLock<Notify> = OnceLock::new();
    RELEASED.get_or_init(Notify::new)
}

/// While one is alive, a signal waits.
#[must_use = "the section ends when the guard is dropped"]
pub struct Guard(());

/// Starts a critical section; it ends when the guard is dropped.
pub fn enter() -> Guard {
    HELD.fetch_add(1, Ordering::SeqCst);
    Guard(())
}

impl Drop for Guard {
    fn drop(&mut self) {
        if HELD.fetch_sub(1, Ordering::SeqCst) == 1 {
            released().notify_waiters();
        }
    }
}

/// Resolves after the first SIGINT or SIGTERM, once no critical section is held.
pub async fn interrupted() {
    signal().await;
    SIGNALLED.store(true, Ordering::SeqCst);
    let mut told = false;
    loop {
        let notified = released().notified();
        tokio::pin!(notified);
        // Registered before the check, so a release between the two is not missed.
        notified.as_mut().enable();
        if HELD.load(Ordering::SeqCst) == 0 {
            return;
        }
        if !told {
            // A closed stderr must not turn this into a panic.
            let _ = writeln!(
                std::io::stderr(),
                "interrupted: stopping once the new key's secret is saved"
            );
            told = true;
        }
        notified.await;
    }
}

async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).ok();
        let term = async {
            match term.as_mut() {
                Some(term) => {
                    term.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = ctrl_c() => {}
            _ = term => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c().await;
}

/// Ctrl-C; never resolves if no handler could be installed (rather than at once).
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
