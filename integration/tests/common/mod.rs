//! What the boot tests (`qemu.rs`, `snapshots.rs`) share: the project root, one boot at a time,
//! and running cargo for what a test boots with.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("integration/ is one level below the root")
        .to_path_buf()
}

/// One boot at a time: the first run may install QEMU through apt (which takes a lock) and
/// builds the kernel; parallel boots would only contend for the two cores anyway.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `cargo ARGS...` at the root (building what a test boots with), which must succeed.
pub fn cargo(args: &[&str]) {
    let status = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("running cargo {args:?}: {e}"));
    assert!(status.success(), "cargo {args:?} failed: {status}");
}
