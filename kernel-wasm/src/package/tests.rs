//! Package tests: a round trip, every refusal the format promises, a flip of every byte of a
//! signed package, randomized mutations (never a panic), and a failure injected at every write
//! step of install, upgrade and uninstall (the tree before equals the tree after).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::cell::Cell;

use super::archive::{header, Archive};
use super::pack::{pack, sign};
use super::*;
use crate::manifest::Version;
use crate::runtime::Runtime;
use crate::test_rng::XorShift;
use crate::vfs::{
    self, DirEntry, MemFs, Metadata, NodeId, NodeKind, SetTime, Vfs, VfsError, VfsResult,
};

const HELLO: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Hello from a package!\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 22))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

fn module() -> Vec<u8> {
    wat::parse_str(HELLO).unwrap()
}

fn manifest(version: &str) -> String {
    format!("name = \"hello\"\nversion = \"{version}\"\ndescription = \"says hello\"\ncapabilities = [\"clock\"]\n")
}

fn key() -> SecretKey {
    SecretKey::from_seed("test-key", [42; 32]).unwrap()
}

fn trust() -> TrustStore {
    let mut t = TrustStore::new();
    t.add(key().public());
    t
}

fn signed(version: &str, assets: &[(&str, &[u8])]) -> Vec<u8> {
    let unsigned = pack(manifest(version).as_bytes(), &module(), assets).unwrap();
    sign(&unsigned, &key()).unwrap()
}

fn small() -> Vec<u8> {
    signed(
        "1.0.0",
        &[
            ("assets/greeting.txt", b"hi\n"),
            ("assets/data/x.bin", &[1, 2, 3]),
        ],
    )
}

#[test]
fn a_signed_package_verifies_and_round_trips() {
    let wap = small();
    let package = verify(&wap, &trust(), false).unwrap();
    assert_eq!(package.manifest.name, "hello");
    assert_eq!(
        package.signer,
        Signer::Trusted(alloc::boxed::Box::new(key().public()))
    );
    assert!(package.warnings.is_empty());
    let names: Vec<&str> = package.archive.files().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "manifest.toml",
            "module.wasm",
            "assets/data/x.bin",
            "assets/greeting.txt"
        ]
    );
    // Re-signing gives the same bytes (deterministic signatures, canonical archive).
    assert_eq!(sign(&wap, &key()).unwrap(), wap);
    // GNU tar reads it as an ordinary archive: the header bytes are standard ustar.
    assert_eq!(&wap[257..263], b"ustar\0");
}

#[test]
fn unsigned_and_untrusted_packages_need_the_switch_and_warn() {
    let unsigned = pack(manifest("1.0.0").as_bytes(), &module(), &[]).unwrap();
    assert_eq!(
        verify(&unsigned, &trust(), false).unwrap_err(),
        PackageError::Unsigned
    );
    let allowed = verify(&unsigned, &trust(), true).unwrap();
    assert_eq!(allowed.signer, Signer::Unverified { key: None });
    assert_eq!(allowed.warnings.len(), 1);

    let wap = small();
    let empty = TrustStore::new();
    let err = verify(&wap, &empty, false).unwrap_err();
    assert_eq!(err, PackageError::UnknownKey { key: key().id });
    assert!(err.to_string().contains(&key().id.to_string()), "{err}");
    let allowed = verify(&wap, &empty, true).unwrap();
    assert_eq!(allowed.warnings.len(), 1);

    // Revoked: refused even when trusted and even with the switch.
    let mut revoked = trust();
    revoked.revoke(key().id);
    for allow in [false, true] {
        assert_eq!(
            verify(&wap, &revoked, allow).unwrap_err(),
            PackageError::Revoked { key: key().id }
        );
    }
    // Signed by another key that the store does not hold under that id.
    let other = SecretKey::from_seed("other", [1; 32]).unwrap();
    let by_other = sign(&wap, &other).unwrap();
    assert_eq!(
        verify(&by_other, &trust(), false).unwrap_err(),
        PackageError::UnknownKey { key: other.id }
    );
}

/// Every byte of a signed package, flipped, is refused; where the byte lies in an entry's data
/// the reason names that entry.
/// `archive` carrying a validly signed `statement` (by `signer`, naming key `named`) that was
/// not made for it.
fn resigned(
    archive: &Archive<'_>,
    statement: &super::statement::Statement,
    signer: &SecretKey,
) -> Vec<u8> {
    let text = statement.encode();
    let signature = signer.sign(&sha256(text.as_bytes()));
    let entry = super::signature::SignatureBlock::encode(signer.id, &signature, text.as_bytes());
    Archive {
        signature: Some(&entry),
        ..archive.clone()
    }
    .write()
    .unwrap()
}

#[test]
fn a_valid_signature_over_another_packages_statement_is_refused() {
    use super::statement::Statement;
    let wap = small();
    let a = Archive::read(&wap).unwrap();
    let signature = a.signature.unwrap();
    let with_signature_of_a = |archive: Archive<'_>| {
        Archive {
            signature: Some(signature),
            ..archive
        }
        .write()
        .unwrap()
    };
    let refused = |bytes: &[u8]| verify(bytes, &trust(), false).unwrap_err().to_string();
    // One more file than was signed, one renamed, one left out.
    let mut more = a.clone();
    more.assets.push(super::archive::Asset {
        name: "assets/zz.txt",
        data: b"extra",
    });
    assert_eq!(
        refused(&with_signature_of_a(more)),
        "assets/zz.txt: not covered by the signature"
    );
    let mut renamed = a.clone();
    renamed.assets[1].name = "assets/hello.txt";
    assert_eq!(
        refused(&with_signature_of_a(renamed)),
        "assets/hello.txt: not covered by the signature (it lists assets/greeting.txt here)"
    );
    let mut fewer = a.clone();
    fewer.assets.pop();
    assert_eq!(
        refused(&with_signature_of_a(fewer)),
        "assets/greeting.txt: signed but missing from the package"
    );
    // A statement whose digests match but which is for another name or version.
    let other_name = Statement::of(&a, "goodbye", "1.0.0", key().id);
    let err = refused(&resigned(&a, &other_name, &key()));
    assert!(
        err.contains("the statement is for goodbye 1.0.0 but the manifest says hello 1.0.0"),
        "{err}"
    );
    let other_version = Statement::of(&a, "hello", "2.0.0", key().id);
    let err = refused(&resigned(&a, &other_version, &key()));
    assert!(err.contains("for hello 2.0.0"), "{err}");
    // A statement naming another key than the one whose signature carries it.
    let other = SecretKey::from_seed("other", [7; 32]).unwrap();
    let wrong_key = Statement::of(&a, "hello", "1.0.0", other.id);
    let err = refused(&resigned(&a, &wrong_key, &key()));
    assert!(
        err.contains(&format!(
            "the statement names key {} but the signature is by {}",
            other.id,
            key().id
        )),
        "{err}"
    );
    // The statement made for the package itself verifies: the refusals above are the
    // mismatches, not the re-signing.
    let own = Statement::of(&a, "hello", "1.0.0", key().id);
    let ok = resigned(&a, &own, &key());
    let verified = verify(&ok, &trust(), false).unwrap();
    assert_eq!(verified.name(), "hello");
    assert_eq!(
        verified.content_size(),
        a.files().map(|(_, d)| d.len() as u64).sum::<u64>()
    );
}

#[test]
fn every_flipped_byte_is_refused_naming_what_failed() {
    let wap = small();
    let package = verify(&wap, &trust(), false).unwrap();
    // Where each entry's data lies in the archive.
    let base = wap.as_ptr() as usize;
    let mut spans: Vec<(String, usize, usize)> = package
        .archive
        .files()
        .map(|(name, data)| {
            let start = data.as_ptr() as usize - base;
            (name.to_string(), start, start + data.len())
        })
        .collect();
    let signature = package.archive.signature.unwrap();
    let sig_start = signature.as_ptr() as usize - base;
    spans.push(("signature".into(), sig_start, sig_start + signature.len()));
    let trust = trust();
    for at in 0..wap.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = wap.clone();
            bad[at] ^= bit;
            let err = match verify(&bad, &trust, false) {
                Ok(_) => panic!("flipping bit {bit:#x} of byte {at} was accepted"),
                Err(e) => e,
            };
            let text = err.to_string();
            if let Some((name, _, _)) = spans.iter().find(|(_, s, e)| (*s..*e).contains(&at)) {
                let names_it = if name == "signature" {
                    text.starts_with("signature:")
                } else {
                    text.starts_with(&format!("{name}:"))
                };
                assert!(names_it, "byte {at} in {name}: {text}");
            }
        }
    }
}

/// Builds a raw ustar entry: a canonical header for (`name`, `data`) with `flag` as its type.
fn raw_entry(name: &str, flag: u8, data: &[u8]) -> Vec<u8> {
    let mut h = header("x", data.len() as u64);
    h[..100].fill(0);
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[156] = flag;
    fix_checksum(&mut h);
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn fix_checksum(h: &mut [u8; 512]) {
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(text.as_bytes());
}

fn archive_of(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<u8> = entries.concat();
    out.resize(out.len() + 1024, 0);
    out
}

fn base_entries() -> Vec<Vec<u8>> {
    vec![
        raw_entry("manifest.toml", b'0', manifest("1.0.0").as_bytes()),
        raw_entry("module.wasm", b'0', &module()),
    ]
}

fn refusal(bytes: &[u8]) -> String {
    match verify(bytes, &TrustStore::new(), true) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn packing_refuses_entries_a_package_cannot_hold() {
    let m = manifest("1.0.0");
    let refused = |assets: &[(&str, &[u8])]| {
        pack(m.as_bytes(), &module(), assets)
            .unwrap_err()
            .to_string()
    };
    let misnamed = refused(&[("README", b"x")]);
    assert!(
        misnamed.contains("asset README: assets are named assets/..."),
        "{misnamed}"
    );
    assert!(refused(&[("assets/", b"x")]).contains("empty path component"));
    let twice = refused(&[("assets/a", b"x"), ("assets/a", b"y")]);
    assert!(twice.contains("sorted without duplicates"), "{twice}");
    assert!(refused(&[("", b"x")]).contains("empty name"));
    assert!(refused(&[("assets/../x", b"x")]).contains("traversal"));
    // What packs, verifies (unsigned, allowed) with the same entries.
    let wap = pack(
        m.as_bytes(),
        &module(),
        &[("assets/b", b"2"), ("assets/a", b"1")],
    )
    .unwrap();
    let names: Vec<&str> = verify(&wap, &TrustStore::new(), true)
        .unwrap()
        .archive
        .files()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        ["manifest.toml", "module.wasm", "assets/a", "assets/b"]
    );
}

#[test]
fn hostile_archives_are_refused_with_their_reason() {
    // The raw builder is right: the base archive is accepted (unsigned, allowed).
    assert!(verify(&archive_of(&base_entries()), &TrustStore::new(), true).is_ok());
    let with = |extra: Vec<u8>| {
        let mut entries = base_entries();
        entries.push(extra);
        archive_of(&entries)
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (with(raw_entry("assets/../x", b'0', b"x")), "traversal"),
        (with(raw_entry("/etc/passwd", b'0', b"x")), "absolute name"),
        (with(raw_entry("assets/./x", b'0', b"x")), "traversal"),
        (
            with(raw_entry("module.wasm", b'0', b"x")),
            "duplicate entry",
        ),
        (with(raw_entry("assets/link", b'2', b"")), "a symbolic link"),
        (with(raw_entry("assets/hard", b'1', b"")), "a hard link"),
        (
            with(raw_entry("assets/dir", b'5', b"")),
            "a directory entry",
        ),
        (
            with(raw_entry("assets/dev", b'3', b"")),
            "a character device",
        ),
        (with(raw_entry("assets/blk", b'4', b"")), "a block device"),
        (with(raw_entry("assets/fifo", b'6', b"")), "a FIFO"),
        (
            with(raw_entry("assets/cont", b'7', b"x")),
            "a contiguous file",
        ),
        (
            with(raw_entry("assets/gpax", b'g', b"path=x\n")),
            "a PAX extended header",
        ),
        (
            with(raw_entry("assets/odd", b'Z', b"")),
            "invalid type flag",
        ),
        (
            with(raw_entry("assets/pax", b'x', b"path=/etc/passwd\n")),
            "PAX",
        ),
        (
            with(raw_entry("README", b'0', b"x")),
            "unknown top-level entry",
        ),
        (with(raw_entry("assets/a b", b'0', b"x")), "character ' '"),
        (
            with(raw_entry("assets/", b'0', b"x")),
            "empty path component",
        ),
        (
            with(raw_entry(&format!("assets/{}", "a".repeat(93)), b'0', b"x")),
            "the limit is 99",
        ),
        (
            archive_of(&[
                raw_entry("module.wasm", b'0', &module()),
                raw_entry("manifest.toml", b'0', manifest("1.0.0").as_bytes()),
            ]),
            "out of order",
        ),
        (
            archive_of(&[raw_entry(
                "manifest.toml",
                b'0',
                manifest("1.0.0").as_bytes(),
            )]),
            "no module.wasm",
        ),
        (
            with(raw_entry("manifest.toml.bak", b'0', b"")),
            "unknown top-level entry",
        ),
    ];
    for (bytes, expected) in cases {
        let text = refusal(&bytes);
        assert!(text.contains(expected), "expected {expected:?} in {text:?}");
    }
    // Assets out of byte order, and a file that is also a directory.
    let text = refusal(&with_assets(&[("assets/b", b"1"), ("assets/a", b"2")]));
    assert!(text.contains("out of order"), "{text}");
    let text = refusal(&with_assets(&[
        ("assets/a", b"1"),
        ("assets/a-b", b"1"),
        ("assets/a/b", b"2"),
    ]));
    assert!(text.contains("is a file, not a directory"), "{text}");

    // Oversized entries: refused from the header, before anything is read.
    let mut big = raw_entry("manifest.toml", b'0', b"");
    let size = format!("{:011o}\0", crate::manifest::MAX_MANIFEST_BYTES + 1);
    big[124..136].copy_from_slice(size.as_bytes());
    let mut h: [u8; 512] = big[..512].try_into().unwrap();
    fix_checksum(&mut h);
    let mut bytes = h.to_vec();
    bytes.resize(
        512 + (crate::manifest::MAX_MANIFEST_BYTES + 1).div_ceil(512) * 512 + 1024,
        0,
    );
    let text = refusal(&bytes);
    assert!(text.contains("over the limit"), "{text}");

    // Truncated anywhere, trailing bytes, a header field off canonical.
    let good = small();
    for cut in [
        0,
        1,
        511,
        512,
        1024,
        good.len() - 1024,
        good.len() - 512,
        good.len() - 1,
    ] {
        refusal(&good[..cut]);
    }
    let mut trailing = good.clone();
    trailing.extend_from_slice(&[0; 512]);
    assert!(refusal(&trailing).contains("trailing bytes"));
    let mut mtime = good.clone();
    let mut h: [u8; 512] = mtime[..512].try_into().unwrap();
    h[136..147].copy_from_slice(b"14000000000");
    fix_checksum(&mut h);
    mtime[..512].copy_from_slice(&h);
    assert!(refusal(&mtime).contains("header field mtime"));

    // A manifest that maps a host directory.
    let hostile =
        "name = \"x\"\nversion = \"1.0.0\"\n[[preopens]]\nhost = \"/\"\nguest = \"/root\"\n";
    let err = pack(hostile.as_bytes(), &module(), &[]).unwrap_err();
    assert!(
        err.to_string().contains("may not map host directories"),
        "{err}"
    );
    let raw = archive_of(&[
        raw_entry("manifest.toml", b'0', hostile.as_bytes()),
        raw_entry("module.wasm", b'0', &module()),
    ]);
    assert!(refusal(&raw).contains("may not map host directories"));
}

fn with_assets(assets: &[(&str, &[u8])]) -> Vec<u8> {
    let mut entries = base_entries();
    for (name, data) in assets {
        entries.push(raw_entry(name, b'0', data));
    }
    archive_of(&entries)
}

/// Random damage: byte changes, truncations, insertions, block swaps. Verification returns an
/// error or (only when nothing the signature covers changed) the same package; it never panics.
#[test]
fn randomized_mutations_never_panic() {
    let good = small();
    let trust = trust();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for round in 0..3000 {
        let mut bad = good.clone();
        let edits = 1 + rng.next() % 4;
        for _ in 0..edits {
            let at = (rng.next() as usize) % bad.len().max(1);
            match rng.next() % 5 {
                0 => bad[at] = rng.next() as u8,
                1 => bad.truncate(at),
                2 => bad.insert(at, rng.next() as u8),
                3 => {
                    let blocks = bad.len() / 512;
                    if blocks >= 2 {
                        let a = (rng.next() as usize % blocks) * 512;
                        let b = (rng.next() as usize % blocks) * 512;
                        for i in 0..512 {
                            bad.swap(a + i, b + i);
                        }
                    }
                }
                _ => {
                    let n = (rng.next() % 1024) as usize;
                    bad.extend((0..n).map(|_| rng.next() as u8));
                }
            }
            if bad.is_empty() {
                break;
            }
        }
        for allow in [false, true] {
            if let Ok(package) = verify(&bad, &trust, allow) {
                if !allow {
                    assert_eq!(bad, good, "round {round}: a changed package verified");
                }
                let _ = package.archive.write();
            }
        }
        let _ = Archive::read(&bad);
        let _ = super::statement::Statement::parse(&bad);
        let _ = super::signature::SignatureBlock::parse(&bad);
        let _ = PublicKey::parse(&bad);
        let _ = TrustStore::new().add_revocation_list(&bad);
    }
}

#[test]
fn versions_order_by_semver_precedence() {
    let v = |t: &str| Version::parse(t).unwrap();
    let ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "2.0.0",
        "10.0.0",
    ];
    for pair in ordered.windows(2) {
        assert_eq!(
            v(pair[0]).precedence(&v(pair[1])),
            core::cmp::Ordering::Less,
            "{pair:?}"
        );
        assert_eq!(
            v(pair[1]).precedence(&v(pair[0])),
            core::cmp::Ordering::Greater
        );
    }
    assert_eq!(
        v("1.0.0+a").precedence(&v("1.0.0+b")),
        core::cmp::Ordering::Equal
    );
}

// ---- the manager ----

/// A `Vfs` that fails its `fail_at`-th write-like call (counting from 1) and counts them all.
struct FailingVfs<'a> {
    inner: &'a MemFs,
    calls: Cell<usize>,
    fail_at: usize,
}

impl<'a> FailingVfs<'a> {
    fn new(inner: &'a MemFs, fail_at: usize) -> Self {
        FailingVfs {
            inner,
            calls: Cell::new(0),
            fail_at,
        }
    }

    fn step(&self) -> VfsResult<()> {
        let n = self.calls.get() + 1;
        self.calls.set(n);
        if n == self.fail_at {
            Err(VfsError::Io("injected failure".into()))
        } else {
            Ok(())
        }
    }
}

impl Vfs for FailingVfs<'_> {
    fn root(&self) -> NodeId {
        self.inner.root()
    }
    fn stat(&self, node: NodeId) -> VfsResult<Metadata> {
        self.inner.stat(node)
    }
    fn lookup(&self, dir: NodeId, name: &str) -> VfsResult<NodeId> {
        self.inner.lookup(dir, name)
    }
    fn parent(&self, dir: NodeId) -> VfsResult<NodeId> {
        self.inner.parent(dir)
    }
    fn create(&self, dir: NodeId, name: &str, kind: NodeKind) -> VfsResult<NodeId> {
        self.step()?;
        self.inner.create(dir, name, kind)
    }
    fn symlink(&self, dir: NodeId, name: &str, target: &str) -> VfsResult<NodeId> {
        self.step()?;
        self.inner.symlink(dir, name, target)
    }
    fn readlink(&self, node: NodeId) -> VfsResult<String> {
        self.inner.readlink(node)
    }
    fn link(&self, node: NodeId, dir: NodeId, name: &str) -> VfsResult<()> {
        self.step()?;
        self.inner.link(node, dir, name)
    }
    fn unlink(&self, dir: NodeId, name: &str) -> VfsResult<()> {
        self.step()?;
        self.inner.unlink(dir, name)
    }
    fn rmdir(&self, dir: NodeId, name: &str) -> VfsResult<()> {
        self.step()?;
        self.inner.rmdir(dir, name)
    }
    fn rename(&self, from_dir: NodeId, from: &str, to_dir: NodeId, to: &str) -> VfsResult<()> {
        self.step()?;
        self.inner.rename(from_dir, from, to_dir, to)
    }
    fn read_at(&self, node: NodeId, offset: u64, buf: &mut [u8]) -> VfsResult<usize> {
        self.inner.read_at(node, offset, buf)
    }
    fn write_at(&self, node: NodeId, offset: u64, data: &[u8]) -> VfsResult<usize> {
        self.step()?;
        self.inner.write_at(node, offset, data)
    }
    fn set_len(&self, node: NodeId, len: u64) -> VfsResult<()> {
        self.step()?;
        self.inner.set_len(node, len)
    }
    fn set_times(&self, node: NodeId, atime: SetTime, mtime: SetTime) -> VfsResult<()> {
        self.step()?;
        self.inner.set_times(node, atime, mtime)
    }
    fn read_dir(&self, dir: NodeId) -> VfsResult<Vec<DirEntry>> {
        self.inner.read_dir(dir)
    }
    fn sync(&self, node: NodeId) -> VfsResult<()> {
        self.step()?;
        self.inner.sync(node)
    }
}

/// Every path under the root with its kind and content, sorted.
fn tree(fs: &dyn Vfs) -> Vec<(String, Vec<u8>)> {
    fn walk(fs: &dyn Vfs, dir: NodeId, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) {
        for e in fs.read_dir(dir).unwrap() {
            let path = format!("{prefix}/{}", e.name);
            match e.kind {
                NodeKind::Dir => {
                    out.push((format!("{path}/"), Vec::new()));
                    walk(fs, e.ino, &path, out);
                }
                _ => out.push((path.clone(), vfs::read_file(fs, &path, 1 << 30).unwrap())),
            }
        }
    }
    let mut out = Vec::new();
    walk(fs, fs.root(), "", &mut out);
    out.sort();
    out
}

fn memfs() -> MemFs {
    MemFs::new(64 << 20, 10_000)
}

/// A copy of `from` (a fresh MemFs with the same tree).
fn copy(from: &MemFs) -> MemFs {
    let to = memfs();
    for (path, data) in tree(from) {
        if let Some(dir) = path.strip_suffix('/') {
            vfs::mkdir_all(&to, dir).unwrap();
        } else {
            vfs::write_file(&to, &path, &data).unwrap();
        }
    }
    to
}

#[test]
fn install_list_info_load_uninstall() {
    let fs = memfs();
    let runtime = Runtime::default();
    let manager = Manager::new(&fs, DEFAULT_ROOT);
    assert!(manager.list().unwrap().is_empty());
    let wap = small();
    let package = verify(&wap, &trust(), false).unwrap();
    let installed = manager
        .install(&package, &runtime, InstallOptions::default())
        .unwrap();
    assert_eq!(installed.version, "1.0.0");
    assert_eq!(installed.previous, None);
    let list = manager.list().unwrap();
    assert_eq!(list.len(), 1);
    let info = list[0].clone().unwrap();
    assert_eq!(
        (info.name.as_str(), info.version.as_str()),
        ("hello", "1.0.0")
    );
    assert_eq!(info.key, Some(key().id));
    assert_eq!(info.key_name.as_deref(), Some("test-key"));
    assert_eq!(info.size(), package.content_size());
    assert_eq!(info.dir, "/pkg/hello/1");
    let loaded = manager.load("hello", Some(&trust())).unwrap();
    assert_eq!(loaded.module, module());
    assert_eq!(loaded.warning, None);
    // Without a trust store the recorded signer checks it.
    assert_eq!(manager.load("hello", None).unwrap().warning, None);
    assert_eq!(
        manager
            .read_asset("hello", "assets/greeting.txt", None)
            .unwrap(),
        b"hi\n"
    );
    assert!(manager
        .read_asset("hello", "assets/../module.wasm", None)
        .is_err());
    assert!(manager.read_asset("hello", "module.wasm", None).is_err());

    // The same version again: refused; forced: reinstalled.
    let err = manager
        .install(&package, &runtime, InstallOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, PackageError::AlreadyInstalled { .. }),
        "{err}"
    );
    manager
        .install(&package, &runtime, InstallOptions { force: true })
        .unwrap();
    assert_eq!(manager.info("hello").unwrap().dir, "/pkg/hello/2");

    // Upgrade, then a downgrade refused unless forced.
    let newer = signed("1.1.0", &[]);
    let newer = verify(&newer, &trust(), false).unwrap();
    let up = manager
        .install(&newer, &runtime, InstallOptions::default())
        .unwrap();
    assert_eq!(up.previous.as_deref(), Some("1.0.0"));
    assert_eq!(
        tree(&fs)
            .iter()
            .filter(|(p, _)| p.ends_with("module.wasm"))
            .count(),
        1
    );
    let err = manager
        .install(&package, &runtime, InstallOptions::default())
        .unwrap_err();
    assert!(matches!(err, PackageError::Downgrade { .. }), "{err}");
    manager
        .install(&package, &runtime, InstallOptions { force: true })
        .unwrap();
    assert_eq!(manager.info("hello").unwrap().version, "1.0.0");

    // Tampering after install is caught at load; a revoked key stops its packages.
    let mut revoked = trust();
    revoked.revoke(key().id);
    assert_eq!(
        manager.load("hello", Some(&revoked)).unwrap_err(),
        PackageError::Revoked { key: key().id }
    );
    let dir = manager.info("hello").unwrap().dir;
    vfs::write_file(&fs, &format!("{dir}/module.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let err = manager.load("hello", None).unwrap_err();
    assert!(err.to_string().contains("module.wasm"), "{err}");

    assert_eq!(manager.uninstall("hello").unwrap(), "1.0.0");
    assert!(manager.list().unwrap().is_empty());
    assert_eq!(tree(&fs), vec![("/pkg/".to_string(), Vec::new())]);
    assert!(matches!(
        manager.uninstall("hello"),
        Err(PackageError::NotInstalled { .. })
    ));
    assert!(matches!(
        manager.uninstall("../etc"),
        Err(PackageError::NotInstalled { .. })
    ));
    assert!(matches!(
        manager.load(".staging-x", None),
        Err(PackageError::NotInstalled { .. })
    ));
}

#[test]
fn install_checks_imports_and_capabilities_with_the_runtime_preflight() {
    let fs = memfs();
    let runtime = Runtime::default();
    let manager = Manager::new(&fs, DEFAULT_ROOT);
    let agent = wat::parse_str(
        r#"(module (import "agent" "send_message" (func (param i32 i32 i32) (result i32))))"#,
    )
    .unwrap();
    let without = "name = \"a\"\nversion = \"1.0.0\"\n";
    let wap = sign(&pack(without.as_bytes(), &agent, &[]).unwrap(), &key()).unwrap();
    let package = verify(&wap, &trust(), false).unwrap();
    let err = manager
        .install(&package, &runtime, InstallOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("agent:send"), "{err}");
    let with = "name = \"a\"\nversion = \"1.0.0\"\ncapabilities = [\"agent:send\"]\n";
    let wap = sign(&pack(with.as_bytes(), &agent, &[]).unwrap(), &key()).unwrap();
    manager
        .install(
            &verify(&wap, &trust(), false).unwrap(),
            &runtime,
            InstallOptions::default(),
        )
        .unwrap();
    let unknown = wat::parse_str(r#"(module (import "nope" "f" (func)))"#).unwrap();
    let wap = sign(
        &pack(with.replace("\"a\"", "\"b\"").as_bytes(), &unknown, &[]).unwrap(),
        &key(),
    )
    .unwrap();
    let err = manager
        .install(
            &verify(&wap, &trust(), false).unwrap(),
            &runtime,
            InstallOptions::default(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("nope::f"), "{err}");
    // Nothing of the refused packages was written.
    assert_eq!(manager.names().unwrap(), ["a"]);
}

/// Runs `op` on a copy of `start` failing at write step 1, 2, ... until it succeeds without a
/// failure; after each failed run the tree must equal `start`'s, after a successful one the
/// visible state must equal `expected` (what leftovers a failure after the commit leaves must
/// go at the next operation).
fn inject_everywhere(
    start: &MemFs,
    op: &dyn Fn(&Manager<'_>) -> Result<()>,
    check_after: &dyn Fn(&MemFs),
) {
    let before = tree(start);
    let mut steps = 0;
    for fail_at in 1.. {
        let fs = copy(start);
        let failing = FailingVfs::new(&fs, fail_at);
        let result = op(&Manager::new(&failing, DEFAULT_ROOT));
        if failing.calls.get() < fail_at {
            // No step failed: the operation ran to its end.
            result.unwrap();
            check_after(&fs);
            steps = fail_at - 1;
            break;
        }
        match result {
            Err(_) => assert_eq!(tree(&fs), before, "failure at write step {fail_at}"),
            Ok(()) => {
                // Failed after the commit (cleanup): the new state is visible.
                check_after(&fs);
            }
        }
    }
    assert!(steps > 3, "only {steps} write steps?");
}

#[test]
fn a_failure_at_any_write_step_leaves_the_previous_state() {
    let runtime = Runtime::default();
    let v1 = small();
    let v2 = signed("2.0.0", &[("assets/new.txt", b"new")]);
    let trust = trust();
    let visible = |fs: &MemFs| -> Vec<(String, String)> {
        let manager = Manager::new(fs, DEFAULT_ROOT);
        manager
            .list()
            .unwrap()
            .into_iter()
            .map(|i| {
                let i = i.unwrap();
                manager.load(&i.name, None).unwrap();
                (i.name, i.version)
            })
            .collect()
    };

    // A first install (the root does not exist yet).
    let empty = memfs();
    inject_everywhere(
        &empty,
        &|m| {
            m.install(
                &verify(&v1, &trust, false)?,
                &runtime,
                InstallOptions::default(),
            )
            .map(|_| ())
        },
        &|fs| assert_eq!(visible(fs), [("hello".to_string(), "1.0.0".to_string())]),
    );

    // An upgrade, with another package beside it.
    let installed = memfs();
    let manager = Manager::new(&installed, DEFAULT_ROOT);
    manager
        .install(
            &verify(&v1, &trust, false).unwrap(),
            &runtime,
            InstallOptions::default(),
        )
        .unwrap();
    let other_manifest = "name = \"other\"\nversion = \"3.0.0\"\n";
    let other = sign(
        &pack(other_manifest.as_bytes(), &module(), &[]).unwrap(),
        &key(),
    )
    .unwrap();
    manager
        .install(
            &verify(&other, &trust, false).unwrap(),
            &runtime,
            InstallOptions::default(),
        )
        .unwrap();
    let after_upgrade = |fs: &MemFs| {
        assert_eq!(
            visible(fs),
            [
                ("hello".to_string(), "2.0.0".to_string()),
                ("other".to_string(), "3.0.0".to_string())
            ]
        );
        // The next operation removes whatever a failed cleanup left behind.
        let manager = Manager::new(fs, DEFAULT_ROOT);
        manager
            .install(
                &verify(&v1, &trust, false).unwrap(),
                &runtime,
                InstallOptions { force: true },
            )
            .unwrap();
        let leftovers: Vec<String> = tree(fs)
            .into_iter()
            .map(|(p, _)| p)
            .filter(|p| {
                p.starts_with("/pkg/hello/")
                    && !p.starts_with("/pkg/hello/3/")
                    && !["/pkg/hello/", "/pkg/hello/current"].contains(&p.as_str())
            })
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    };
    inject_everywhere(
        &installed,
        &|m| {
            m.install(
                &verify(&v2, &trust, false)?,
                &runtime,
                InstallOptions::default(),
            )
            .map(|_| ())
        },
        &after_upgrade,
    );

    // An uninstall.
    inject_everywhere(&installed, &|m| m.uninstall("hello").map(|_| ()), &|fs| {
        assert_eq!(visible(fs), [("other".to_string(), "3.0.0".to_string())]);
    });
}

#[test]
fn boot_installs_a_directory_and_reports_each_package() {
    let fs = memfs();
    let runtime = Runtime::default();
    vfs::write_file(&fs, "/boot/packages/a-hello.wap", &small()).unwrap();
    let mut tampered = small();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    vfs::write_file(&fs, "/boot/packages/b-tampered.wap", &tampered).unwrap();
    vfs::write_file(&fs, "/boot/packages/notes.txt", b"not a package").unwrap();
    let manager = Manager::new(&fs, DEFAULT_ROOT);
    let lines = boot::install_dir(&fs, BOOT_DIR, &manager, &runtime, &trust(), false);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        lines[0],
        format!(
            "[boot] pkg: hello 1.0.0 installed (key {} test-key)",
            key().id
        )
    );
    assert!(
        lines[1].starts_with("[boot] pkg: /boot/packages/b-tampered.wap refused: "),
        "{lines:?}"
    );
    assert!(boot::install_dir(&fs, "/nowhere", &manager, &runtime, &trust(), false).is_empty());
}
