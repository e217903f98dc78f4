//! Path resolution over a [`Vfs`], confined to a root directory.
//!
//! This is the one place that interprets `/`, `.`, `..` and symlinks. Resolution never leaves `root`:
//! a `..` at the root, an absolute path (when not allowed) or a symlink pointing outside gives
//! [`VfsError::Escape`]. WASI preopens use [`Absolute::Reject`]; the shell uses
//! [`Absolute::FromRoot`], where `/` means `root`.

use alloc::string::String;
use alloc::vec::Vec;

use super::{NodeId, NodeKind, Vfs, VfsError, VfsResult};

/// How many symlinks one resolution may follow before giving up with [`VfsError::Loop`] (as Linux).
pub const MAX_SYMLINKS: usize = 40;
/// The longest path accepted.
pub const MAX_PATH_LEN: usize = 4096;

/// What an absolute path means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absolute {
    /// Absolute paths (and absolute symlink targets) are an escape.
    Reject,
    /// `/` is the sandbox root.
    FromRoot,
}

/// Whether `path` can only name a directory: it ends in `/` or `/.` (POSIX: `file/` and `file/.`
/// are ENOTDIR).
pub fn names_directory(path: &str) -> bool {
    path.ends_with('/') || path.ends_with("/.")
}

/// Resolves `path` relative to `start` (a directory inside `root`), following symlinks in every
/// component and, when `follow_last` is true, in the last one.
pub fn resolve(
    vfs: &dyn Vfs,
    root: NodeId,
    start: NodeId,
    path: &str,
    absolute: Absolute,
    follow_last: bool,
) -> VfsResult<NodeId> {
    let (dir, last) = resolve_parent(vfs, root, start, path, absolute)?;
    match last {
        None => Ok(dir),
        Some(name) => {
            let mut budget = MAX_SYMLINKS;
            lookup_following(
                vfs,
                root,
                dir,
                &name,
                absolute,
                follow_last,
                &mut budget,
                names_directory(path),
            )
        }
    }
}

/// Resolves every component of `path` but the last, returning the directory that holds it and the
/// last component (`None` when the path names a directory itself, as `.`, `/`, or `a/..`).
/// A trailing slash is kept as a requirement that the last component be a directory.
pub fn resolve_parent(
    vfs: &dyn Vfs,
    root: NodeId,
    start: NodeId,
    path: &str,
    absolute: Absolute,
) -> VfsResult<(NodeId, Option<String>)> {
    if path.is_empty() {
        return Err(VfsError::NotFound);
    }
    if path.contains('\0') {
        return Err(VfsError::InvalidName);
    }
    if path.len() > MAX_PATH_LEN {
        return Err(VfsError::NameTooLong);
    }
    let mut budget = MAX_SYMLINKS;
    resolve_parent_budget(vfs, root, start, path, absolute, &mut budget)
}

fn begin(
    root: NodeId,
    start: NodeId,
    path: &str,
    absolute: Absolute,
    stack: &mut Vec<NodeId>,
) -> VfsResult<NodeId> {
    if path.starts_with('/') {
        match absolute {
            Absolute::Reject => Err(VfsError::Escape),
            Absolute::FromRoot => {
                stack.clear();
                Ok(root)
            }
        }
    } else {
        Ok(start)
    }
}

fn up(vfs: &dyn Vfs, root: NodeId, dir: NodeId, stack: &mut Vec<NodeId>) -> VfsResult<NodeId> {
    if dir == root {
        return Err(VfsError::Escape);
    }
    // Prefer the directory we came through; fall back to the file system's parent for `start` dirs.
    match stack.pop() {
        Some(prev) => Ok(prev),
        None => vfs.parent(dir),
    }
}

/// Moves from `dir` into component `comp`, which must end up being a directory.
fn step(
    vfs: &dyn Vfs,
    root: NodeId,
    dir: NodeId,
    comp: &str,
    absolute: Absolute,
    stack: &mut Vec<NodeId>,
    budget: &mut usize,
) -> VfsResult<NodeId> {
    if comp == ".." {
        return up(vfs, root, dir, stack);
    }
    let next = lookup_following(vfs, root, dir, comp, absolute, true, budget, true)?;
    stack.push(dir);
    Ok(next)
}

#[allow(clippy::too_many_arguments)]
fn lookup_following(
    vfs: &dyn Vfs,
    root: NodeId,
    dir: NodeId,
    name: &str,
    absolute: Absolute,
    follow: bool,
    budget: &mut usize,
    must_be_dir: bool,
) -> VfsResult<NodeId> {
    let node = vfs.lookup(dir, name)?;
    let meta = vfs.stat(node)?;
    match meta.kind {
        NodeKind::Symlink if follow || must_be_dir => {
            if *budget == 0 {
                return Err(VfsError::Loop);
            }
            *budget -= 1;
            let target = vfs.readlink(node)?;
            let (tdir, tlast) = resolve_parent_budget(vfs, root, dir, &target, absolute, budget)?;
            match tlast {
                None => Ok(tdir),
                Some(tname) => {
                    lookup_following(vfs, root, tdir, &tname, absolute, true, budget, must_be_dir)
                }
            }
        }
        NodeKind::Dir => Ok(node),
        _ if must_be_dir => Err(VfsError::NotADirectory),
        _ => Ok(node),
    }
}

fn resolve_parent_budget(
    vfs: &dyn Vfs,
    root: NodeId,
    start: NodeId,
    path: &str,
    absolute: Absolute,
    budget: &mut usize,
) -> VfsResult<(NodeId, Option<String>)> {
    if path.is_empty() {
        return Err(VfsError::NotFound);
    }
    let mut stack = Vec::new();
    let mut dir = begin(root, start, path, absolute, &mut stack)?;
    let components: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let Some((last, init)) = components.split_last() else {
        return Ok((dir, None));
    };
    for comp in init {
        dir = step(vfs, root, dir, comp, absolute, &mut stack, budget)?;
    }
    if *last == ".." {
        return Ok((up(vfs, root, dir, &mut stack)?, None));
    }
    Ok((dir, Some(String::from(*last))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::MemFs;

    fn tree() -> (MemFs, NodeId, NodeId) {
        let fs = MemFs::new(1 << 20, 100);
        let root = fs.root();
        let sandbox = fs.create(root, "sandbox", NodeKind::Dir).unwrap();
        fs.create(root, "secret", NodeKind::File).unwrap();
        let sub = fs.create(sandbox, "sub", NodeKind::Dir).unwrap();
        fs.create(sub, "f.txt", NodeKind::File).unwrap();
        fs.symlink(sandbox, "inside", "sub/f.txt").unwrap();
        fs.symlink(sandbox, "out", "../secret").unwrap();
        fs.symlink(sandbox, "abs", "/secret").unwrap();
        fs.symlink(sandbox, "loop", "loop").unwrap();
        (fs, sandbox, sub)
    }

    #[test]
    fn resolves_inside_and_follows_symlinks() {
        let (fs, sb, sub) = tree();
        let f = fs.lookup(sub, "f.txt").unwrap();
        assert_eq!(
            resolve(&fs, sb, sb, "sub/f.txt", Absolute::Reject, true),
            Ok(f)
        );
        assert_eq!(
            resolve(&fs, sb, sb, "./sub/../sub/f.txt", Absolute::Reject, true),
            Ok(f)
        );
        assert_eq!(
            resolve(&fs, sb, sb, "inside", Absolute::Reject, true),
            Ok(f)
        );
        assert_eq!(resolve(&fs, sb, sb, ".", Absolute::Reject, true), Ok(sb));
        assert_eq!(
            resolve(&fs, sb, sb, "sub/..", Absolute::Reject, true),
            Ok(sb)
        );
    }

    #[test]
    fn escapes_are_refused() {
        let (fs, sb, sub) = tree();
        for path in [
            "..",
            "../secret",
            "sub/../../secret",
            "/secret",
            "out",
            "abs",
        ] {
            assert_eq!(
                resolve(&fs, sb, sb, path, Absolute::Reject, true),
                Err(VfsError::Escape),
                "{path}"
            );
        }
        assert_eq!(
            resolve(&fs, sb, sub, "../..", Absolute::Reject, true),
            Err(VfsError::Escape)
        );
    }

    #[test]
    fn symlink_loops_stop() {
        let (fs, sb, _) = tree();
        assert_eq!(
            resolve(&fs, sb, sb, "loop", Absolute::Reject, true),
            Err(VfsError::Loop)
        );
        // Not following the last component returns the link itself.
        assert!(resolve(&fs, sb, sb, "loop", Absolute::Reject, false).is_ok());
    }

    #[test]
    fn absolute_from_root_for_the_shell() {
        let (fs, _, sub) = tree();
        let root = fs.root();
        assert_eq!(
            resolve(&fs, root, sub, "/sandbox/sub", Absolute::FromRoot, true),
            Ok(sub)
        );
        assert_eq!(
            resolve(&fs, root, root, "/", Absolute::FromRoot, true),
            Ok(root)
        );
        assert_eq!(
            resolve(&fs, root, root, "/..", Absolute::FromRoot, true),
            Err(VfsError::Escape)
        );
    }

    #[test]
    fn file_used_as_directory_is_not_a_directory() {
        let (fs, sb, _) = tree();
        assert_eq!(
            resolve(&fs, sb, sb, "sub/f.txt/x", Absolute::Reject, true),
            Err(VfsError::NotADirectory)
        );
        assert_eq!(
            resolve(&fs, sb, sb, "sub/f.txt/", Absolute::Reject, true),
            Err(VfsError::NotADirectory)
        );
        assert_eq!(
            resolve(&fs, sb, sb, "sub/f.txt/.", Absolute::Reject, true),
            Err(VfsError::NotADirectory)
        );
    }
}
