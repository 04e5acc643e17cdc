pub mod alibaba;
pub mod aws;
pub mod huawei;
pub mod report;
pub mod tencent;

use std::collections::HashSet;

use crate::error::{Error, Result};

/// Guards a pagination loop against a cloud that never ends it: fed the marker of each next
/// page before it is fetched, it refuses a marker seen before (a loop, even A→B→A) and more
/// than [`PageGuard::MAX_PAGES`] pages, with a clear error instead of an endless run.
pub struct PageGuard {
    call: &'static str,
    pages: usize,
    seen: HashSet<String>,
}

impl PageGuard {
    /// 10,000 pages of 100 to 1,000 items: far beyond any real account.
    pub const MAX_PAGES: usize = 10_000;

    pub fn new(call: &'static str) -> Self {
        PageGuard {
            call,
            pages: 1,
            seen: HashSet::new(),
        }
    }

    /// Accepts `marker` as the next page's, or says why the listing stops.
    pub fn follow(&mut self, marker: &str) -> Result<()> {
        if !self.seen.insert(marker.to_string()) {
            // The marker itself is the cloud's text: not echoed.
            return Err(Error::bad_response(format!(
                "{}: the answer repeats a page marker after {} pages; stopping rather than \
                 looping",
                self.call, self.pages
            )));
        }
        self.pages += 1;
        if self.pages > Self::MAX_PAGES {
            return Err(Error::bad_response(format!(
                "{}: more than {} pages; stopping",
                self.call,
                Self::MAX_PAGES
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_guard_stops_loops_and_endless_listings() {
        let mut guard = PageGuard::new("ListUsers");
        guard.follow("a").unwrap();
        guard.follow("b").unwrap();
        let err = guard.follow("a").unwrap_err();
        assert_eq!(err.exit_code(), 4);
        assert!(err.to_string().contains("repeats a page marker"), "{err}");

        let mut guard = PageGuard::new("ListUsers");
        for n in 1..PageGuard::MAX_PAGES {
            guard.follow(&n.to_string()).unwrap();
        }
        let err = guard.follow("last").unwrap_err();
        assert!(err.to_string().contains("more than 10000 pages"), "{err}");
    }
}
