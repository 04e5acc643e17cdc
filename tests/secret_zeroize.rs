//! `Secret` wipes its buffer before the memory goes back to the allocator.
//!
//! Reading freed memory would be undefined behaviour, so this test binary installs a global
//! allocator that looks at each block while it still owns it — inside `dealloc`, before passing
//! it on — and counts the blocks that still hold a marker. A plain `String` holding the marker
//! is the control: it must be seen, or the detector proves nothing. (Memory a `Secret` was
//! copied out of before it became one — a parser's buffers, say — is not covered.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use cloudkeys::model::{KeyRecord, KeyStatus, NewKey, ProviderKind, Secret};

const CONTROL: &[u8] = b"control-marker-6c1f0e9a4b";
const SECRET: &[u8] = b"secret-marker-93d27be5f0";

static CONTROL_SEEN: AtomicUsize = AtomicUsize::new(0);
static SECRET_SEEN: AtomicUsize = AtomicUsize::new(0);

struct Watching;

fn holds(block: &[u8], marker: &[u8]) -> bool {
    block.windows(marker.len()).any(|w| w == marker)
}

// Every byte of every block is initialized (zeroed when handed out, and the grown part on
// realloc), so `dealloc` may read whole blocks.
unsafe impl GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= CONTROL.len().min(SECRET.len()) {
            // SAFETY: the block is still ours until System.dealloc below, `size` bytes long,
            // and every byte of it was initialized (see above).
            let block = std::slice::from_raw_parts(ptr, layout.size());
            if holds(block, CONTROL) {
                CONTROL_SEEN.fetch_add(1, Ordering::SeqCst);
            }
            if holds(block, SECRET) {
                SECRET_SEEN.fetch_add(1, Ordering::SeqCst);
            }
        }
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() && new_size > layout.size() {
            // SAFETY: the grown tail is inside the new block and not yet handed out.
            std::ptr::write_bytes(new.add(layout.size()), 0, new_size - layout.size());
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Watching = Watching;

/// The marker as a heap string built at run time (a literal lives in the binary, not the heap).
fn heap_string(marker: &[u8]) -> String {
    String::from_utf8(marker.to_vec()).expect("ASCII marker")
}

#[test]
fn a_dropped_secret_leaves_nothing_in_freed_memory() {
    // The control: a plain String is freed with its content intact, and the detector sees it.
    let control = heap_string(CONTROL);
    drop(control);
    assert!(
        CONTROL_SEEN.load(Ordering::SeqCst) >= 1,
        "the detector does not work"
    );

    // A Secret, a clone of it, and a secret inside a NewKey: all wiped before they are freed.
    let secret = Secret::new(heap_string(SECRET));
    let copy = secret.clone();
    assert_eq!(copy.expose().as_bytes(), SECRET);
    let new_key = NewKey {
        record: KeyRecord::new(ProviderKind::Aws, "p", "AKIA1".into(), KeyStatus::Active),
        secret: Secret::from(heap_string(SECRET)),
    };
    drop(secret);
    drop(copy);
    drop(new_key);
    assert_eq!(
        SECRET_SEEN.load(Ordering::SeqCst),
        0,
        "a Secret was freed without being wiped"
    );
}

#[test]
fn secrets_print_as_stars_in_every_form() {
    let secret = Secret::new("wJalrXUtnFEMI/K7MDENG");
    for shown in [
        format!("{secret}"),
        format!("{secret:?}"),
        format!("{secret:#?}"),
        format!("{secret:>30}"),
        format!("{:?}", Some(secret.clone())),
    ] {
        assert!(!shown.contains("wJalr"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }
    let new_key = NewKey {
        record: KeyRecord::new(ProviderKind::Aws, "p", "AKIA1".into(), KeyStatus::Active),
        secret,
    };
    for shown in [format!("{new_key:?}"), format!("{new_key:#?}")] {
        assert!(shown.contains("AKIA1"), "{shown}");
        assert!(!shown.contains("wJalr"), "{shown}");
    }
}
