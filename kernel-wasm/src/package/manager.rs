//! The package manager: installs verified packages under a directory of a [`Vfs`] (the shell's
//! `/pkg`, or `kwasm pkg --root DIR`), upgrades, uninstalls, lists, and loads them by name.
//!
//! Layout of an installed package `NAME`:
//!
//! ```text
//! ROOT/NAME/current          the active generation, a number and a newline ("1\n")
//! ROOT/NAME/1/manifest.toml  the package's entries, byte for byte as verified
//! ROOT/NAME/1/module.wasm
//! ROOT/NAME/1/assets/...
//! ROOT/NAME/1/signature      the signature entry (signed packages)
//! ROOT/NAME/1/signer.pub     the trusted key that signed it, as a key file
//! ```
//!
//! **Atomicity.** Every change is staged where nothing reads it and committed by one rename:
//! a first install writes `ROOT/.staging-NAME/` (generation `1` and `current`) and renames it to
//! `ROOT/NAME`; an upgrade writes generation `N+1` beside the active one and renames a new
//! `current` over the old; an uninstall renames `ROOT/NAME` to `ROOT/.removing-NAME`. If any step
//! before the rename fails, what was written is removed and the previous state is intact; after
//! it, the old generation (or the removed package) is deleted on a best-effort basis, and what a
//! failure leaves there is deleted by the next install or uninstall. Readers only follow
//! `current`, so they see the old package or the new one, never a mix.
//!
//! **Loading** re-checks the installed files: the signature over its statement (with the trust
//! store when one is given, else with the recorded `signer.pub`) and the size and SHA-256 of the
//! manifest and the module, so a damaged or altered install is refused, and so is a package whose
//! key was revoked after it was installed.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cmp::Ordering;

use super::archive::{ASSETS, MANIFEST, MODULE, SIGNATURE};
use super::signature::{KeyId, PublicKey, SignatureBlock};
use super::statement::Statement;
use super::trust::TrustStore;
use super::verify::{check_file, Signer, Verified};
use super::{
    printable, PackageError, Result, MAX_MODULE_BYTES, MAX_PACKAGE_BYTES, MAX_SIGNATURE_BYTES,
};
use crate::manifest::{Manifest, MAX_MANIFEST_BYTES};
use crate::module::ModuleInfo;
use crate::runtime::Runtime;
use crate::vfs::{self, path, NodeId, NodeKind, Vfs, VfsError};

const CURRENT: &str = "current";
const CURRENT_NEW: &str = ".current.new";
const STAGING: &str = ".staging";
const SIGNER: &str = "signer.pub";
/// The deepest directory nesting removed recursively (asset names are at most 99 bytes, so
/// they nest at most 49 deep).
const MAX_DEPTH: usize = 64;

/// How to install.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstallOptions {
    /// Reinstall the same version, or install an older one over a newer.
    pub force: bool,
}

/// What an install did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub name: String,
    pub version: String,
    /// The version it replaced.
    pub previous: Option<String>,
    pub key: Option<KeyId>,
}

/// An installed package as `pkg-list` and `pkg-info` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageInfo {
    pub name: String,
    pub version: String,
    pub manifest: Manifest,
    /// The signing key, when signed.
    pub key: Option<KeyId>,
    /// The key's name, when it was trusted at install.
    pub key_name: Option<String>,
    /// The installed entries (manifest, module, assets) with their sizes.
    pub files: Vec<(String, u64)>,
    /// Where the files are.
    pub dir: String,
}

impl PackageInfo {
    /// Bytes of all entries.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|(_, size)| size).sum()
    }
}

/// A package loaded to run: its manifest and module bytes, both checked against the signature.
#[derive(Debug, Clone)]
pub struct LoadedPackage {
    pub info: PackageInfo,
    pub module: Vec<u8>,
    /// A line to print before running it (unsigned, or signed by a key nobody can check).
    pub warning: Option<String>,
}

/// The package manager over `vfs`, with packages under the absolute directory `root`.
pub struct Manager<'v> {
    vfs: &'v dyn Vfs,
    root: String,
}

fn fs(path: &str, error: VfsError) -> PackageError {
    PackageError::Fs {
        path: path.to_string(),
        error,
    }
}

impl<'v> Manager<'v> {
    pub fn new(vfs: &'v dyn Vfs, root: &str) -> Self {
        let root = match root.trim_end_matches('/') {
            "" => String::from("/"),
            trimmed => trimmed.to_string(),
        };
        Manager { vfs, root }
    }

    pub fn root(&self) -> &str {
        &self.root
    }

    fn path_of(&self, rest: &str) -> String {
        if self.root == "/" {
            format!("/{rest}")
        } else {
            format!("{}/{rest}", self.root)
        }
    }

    /// The root directory, if it exists.
    fn root_node(&self) -> Result<Option<NodeId>> {
        let top = self.vfs.root();
        match path::resolve(
            self.vfs,
            top,
            top,
            &self.root,
            path::Absolute::FromRoot,
            true,
        ) {
            Ok(node) => {
                let meta = self.vfs.stat(node).map_err(|e| fs(&self.root, e))?;
                if meta.kind != NodeKind::Dir {
                    return Err(fs(&self.root, VfsError::NotADirectory));
                }
                Ok(Some(node))
            }
            Err(VfsError::NotFound) => Ok(None),
            Err(e) => Err(fs(&self.root, e)),
        }
    }

    /// Names of the installed packages, sorted.
    pub fn names(&self) -> Result<Vec<String>> {
        let Some(root) = self.root_node()? else {
            return Ok(Vec::new());
        };
        let mut names: Vec<String> = self
            .vfs
            .read_dir(root)
            .map_err(|e| fs(&self.root, e))?
            .into_iter()
            .filter(|e| e.kind == NodeKind::Dir && !e.name.starts_with('.'))
            .map(|e| e.name)
            .collect();
        names.sort();
        Ok(names)
    }

    /// Whether package `name` is installed (a name that is not a valid package name never is).
    pub fn is_installed(&self, name: &str) -> bool {
        valid_package_name(name)
            && matches!(self.root_node(), Ok(Some(root)) if self.vfs.lookup(root, name).is_ok())
    }

    /// The installed package's directory node and its active generation's node and number.
    fn active(&self, root: NodeId, name: &str) -> Result<(NodeId, NodeId, u64)> {
        if !valid_package_name(name) {
            return Err(PackageError::NotInstalled {
                name: printable(name),
            });
        }
        let pkg = match self.vfs.lookup(root, name) {
            Ok(node) => node,
            Err(VfsError::NotFound) => {
                return Err(PackageError::NotInstalled {
                    name: name.to_string(),
                })
            }
            Err(e) => return Err(fs(&self.path_of(name), e)),
        };
        let text = read_in(self.vfs, pkg, CURRENT, 32)
            .map_err(|e| damaged(name, format!("{CURRENT}: {e}")))?;
        let generation = core::str::from_utf8(&text)
            .ok()
            .and_then(|t| t.strip_suffix('\n'))
            .and_then(|t| t.parse::<u64>().ok())
            .filter(|&g| g > 0)
            .ok_or_else(|| damaged(name, format!("{CURRENT} does not hold a generation number")))?;
        let dir = self
            .vfs
            .lookup(pkg, &generation.to_string())
            .map_err(|e| damaged(name, format!("generation {generation}: {e}")))?;
        Ok((pkg, dir, generation))
    }

    /// The active generation of installed package `name`: its directory node and number.
    fn active_generation(&self, name: &str) -> Result<(NodeId, u64)> {
        let root = self
            .root_node()?
            .ok_or_else(|| PackageError::NotInstalled {
                name: printable(name),
            })?;
        let (_, dir, generation) = self.active(root, name)?;
        Ok((dir, generation))
    }

    /// What `pkg-info` shows about package `name`.
    pub fn info(&self, name: &str) -> Result<PackageInfo> {
        let (dir, generation) = self.active_generation(name)?;
        let manifest = read_in(self.vfs, dir, MANIFEST, MAX_MANIFEST_BYTES as u64)
            .map_err(|e| damaged(name, format!("{MANIFEST}: {e}")))?;
        let signed = self.installed_signature(name, dir, Check::Parse)?;
        self.describe(name, dir, generation, &manifest, &signed)
    }

    /// The [`PackageInfo`] of the generation `generation` (in `dir`) of package `name`, from
    /// its manifest bytes and its signature as read.
    fn describe(
        &self,
        name: &str,
        dir: NodeId,
        generation: u64,
        manifest: &[u8],
        signed: &Signed,
    ) -> Result<PackageInfo> {
        let manifest = Manifest::from_bytes(manifest)
            .map_err(|e| damaged(name, format!("{MANIFEST}: {e}")))?;
        let files = match &signed.statement {
            Some(statement) => statement
                .files
                .iter()
                .map(|f| (f.name.clone(), f.size))
                .collect(),
            None => self
                .unsigned_files(dir)
                .map_err(|e| damaged(name, e.to_string()))?,
        };
        let key_name = signed
            .recorded
            .as_ref()
            .filter(|k| Some(k.id) == signed.key)
            .map(|k| k.name.clone());
        Ok(PackageInfo {
            name: name.to_string(),
            version: manifest.version.to_string(),
            manifest,
            key: signed.key,
            key_name,
            files,
            dir: self.path_of(&format!("{name}/{generation}")),
        })
    }

    /// The files of an unsigned install with their sizes, in archive order.
    fn unsigned_files(&self, dir: NodeId) -> core::result::Result<Vec<(String, u64)>, VfsError> {
        let mut files = Vec::new();
        for name in [MANIFEST, MODULE] {
            let node = self.vfs.lookup(dir, name)?;
            files.push((name.to_string(), self.vfs.stat(node)?.size));
        }
        if let Ok(assets) = self.vfs.lookup(dir, ASSETS.trim_end_matches('/')) {
            let mut found = Vec::new();
            walk_files(
                self.vfs,
                assets,
                ASSETS.trim_end_matches('/'),
                0,
                &mut found,
            )?;
            found.sort();
            files.extend(found);
        }
        Ok(files)
    }

    /// Every installed package (or why it cannot be read), by name.
    pub fn list(&self) -> Result<Vec<Result<PackageInfo>>> {
        Ok(self.names()?.iter().map(|name| self.info(name)).collect())
    }

    /// Installs a verified package after the runtime's pre-flight of its module (every import
    /// provided, every capability the imports need granted by the manifest). A package already
    /// installed is upgraded when this one is newer; the same version or an older one needs
    /// `force`.
    pub fn install(
        &self,
        package: &Verified<'_>,
        runtime: &Runtime,
        options: InstallOptions,
    ) -> Result<Installed> {
        let manifest = &package.manifest;
        let name = manifest.name.as_str();
        let info =
            ModuleInfo::read(package.archive.module).map_err(|reason| PackageError::Module {
                reason: format!("not a valid WebAssembly module: {reason}"),
            })?;
        runtime
            .check_module_info(name, &info, &manifest.capabilities)
            .map_err(|e| PackageError::Module {
                reason: e.to_string(),
            })?;
        let version = manifest.version.to_string();

        let (root, created_root) = match self.root_node()? {
            Some(root) => (root, false),
            None => (
                vfs::mkdir_all(self.vfs, &self.root).map_err(|e| fs(&self.root, e))?,
                true,
            ),
        };
        let result = match self.vfs.lookup(root, name) {
            Err(VfsError::NotFound) => self.install_new(root, package).map(|()| None),
            Err(e) => Err(fs(&self.path_of(name), e)),
            Ok(_) => self.upgrade(root, package, options).map(Some),
        };
        match result {
            Ok(previous) => Ok(Installed {
                name: name.to_string(),
                version,
                previous,
                key: package.signer.key(),
            }),
            Err(e) => {
                if created_root {
                    let _ = remove_path(self.vfs, &self.root);
                }
                Err(e)
            }
        }
    }

    fn install_new(&self, root: NodeId, package: &Verified<'_>) -> Result<()> {
        let name = package.manifest.name.as_str();
        let stage_name = format!("{STAGING}-{name}");
        let stage_path = self.path_of(&stage_name);
        // A stage left by an install that failed half way (and could not clean up), and what an
        // uninstall whose cleanup failed left.
        remove_if_exists(self.vfs, root, &stage_name).map_err(|e| fs(&stage_path, e))?;
        let _ = remove_if_exists(self.vfs, root, &format!(".removing-{name}"));
        let stage = self
            .vfs
            .create(root, &stage_name, NodeKind::Dir)
            .map_err(|e| fs(&stage_path, e))?;
        let staged = (|| {
            let generation = self
                .vfs
                .create(stage, "1", NodeKind::Dir)
                .map_err(|e| fs(&format!("{stage_path}/1"), e))?;
            write_contents(self.vfs, generation, package, &format!("{stage_path}/1"))?;
            write_new(self.vfs, stage, CURRENT, b"1\n")
                .map_err(|e| fs(&format!("{stage_path}/{CURRENT}"), e))?;
            self.vfs.sync(stage).map_err(|e| fs(&stage_path, e))?;
            // The commit.
            self.vfs
                .rename(root, &stage_name, root, name)
                .map_err(|e| fs(&self.path_of(name), e))
        })();
        if let Err(e) = staged {
            let _ = remove_if_exists(self.vfs, root, &stage_name);
            return Err(e);
        }
        let _ = self.vfs.sync(root);
        Ok(())
    }

    /// Installs a second generation beside the active one and switches `current` to it; returns
    /// the version replaced.
    fn upgrade(
        &self,
        root: NodeId,
        package: &Verified<'_>,
        options: InstallOptions,
    ) -> Result<String> {
        let name = package.manifest.name.as_str();
        let installed = self.info(name);
        let previous = match &installed {
            Ok(info) => {
                let order = package.manifest.version.precedence(&info.manifest.version);
                let offered = package.manifest.version.to_string();
                match order {
                    Ordering::Greater => {}
                    _ if options.force => {}
                    Ordering::Equal => {
                        return Err(PackageError::AlreadyInstalled {
                            name: name.to_string(),
                            version: info.version.clone(),
                        })
                    }
                    Ordering::Less => {
                        return Err(PackageError::Downgrade {
                            name: name.to_string(),
                            installed: info.version.clone(),
                            offered,
                        })
                    }
                }
                info.version.clone()
            }
            // A damaged install is replaced only on request.
            Err(e) if !options.force => return Err(e.clone()),
            Err(_) => String::from("(damaged)"),
        };
        let pkg_path = self.path_of(name);
        let pkg = self.vfs.lookup(root, name).map_err(|e| fs(&pkg_path, e))?;
        let old_generation = match self.active(root, name) {
            Ok((_, _, generation)) => Some(generation),
            Err(_) => None,
        };
        // Leftovers of an upgrade that failed half way: a stage, a new `current`, generations
        // other than the active one.
        self.collect_garbage(pkg, old_generation)
            .map_err(|e| fs(&pkg_path, e))?;
        let new_generation = old_generation.unwrap_or(0) + 1;
        let new_name = new_generation.to_string();
        let stage_path = format!("{pkg_path}/{STAGING}");
        let stage = self
            .vfs
            .create(pkg, STAGING, NodeKind::Dir)
            .map_err(|e| fs(&stage_path, e))?;
        let staged = (|| {
            write_contents(self.vfs, stage, package, &stage_path)?;
            self.vfs.sync(stage).map_err(|e| fs(&stage_path, e))?;
            self.vfs
                .rename(pkg, STAGING, pkg, &new_name)
                .map_err(|e| fs(&format!("{pkg_path}/{new_name}"), e))?;
            write_new(
                self.vfs,
                pkg,
                CURRENT_NEW,
                format!("{new_name}\n").as_bytes(),
            )
            .map_err(|e| fs(&format!("{pkg_path}/{CURRENT_NEW}"), e))?;
            // The commit.
            self.vfs
                .rename(pkg, CURRENT_NEW, pkg, CURRENT)
                .map_err(|e| fs(&format!("{pkg_path}/{CURRENT}"), e))
        })();
        if let Err(e) = staged {
            let _ = remove_if_exists(self.vfs, pkg, STAGING);
            let _ = remove_if_exists(self.vfs, pkg, &new_name);
            let _ = remove_if_exists(self.vfs, pkg, CURRENT_NEW);
            return Err(e);
        }
        let _ = self.vfs.sync(pkg);
        if let Some(old) = old_generation {
            let _ = remove_if_exists(self.vfs, pkg, &old.to_string());
        }
        Ok(previous)
    }

    /// Removes what a failed operation left in package directory `pkg`: everything but
    /// `current` and the active generation.
    fn collect_garbage(
        &self,
        pkg: NodeId,
        active: Option<u64>,
    ) -> core::result::Result<(), VfsError> {
        let keep = active.map(|g| g.to_string());
        for entry in self.vfs.read_dir(pkg)? {
            if entry.name == CURRENT || Some(&entry.name) == keep.as_ref() {
                continue;
            }
            remove_if_exists(self.vfs, pkg, &entry.name)?;
        }
        Ok(())
    }

    /// Uninstalls package `name`; returns the version removed.
    pub fn uninstall(&self, name: &str) -> Result<String> {
        let root = self
            .root_node()?
            .ok_or_else(|| PackageError::NotInstalled {
                name: printable(name),
            })?;
        if !valid_package_name(name) || self.vfs.lookup(root, name).is_err() {
            return Err(PackageError::NotInstalled {
                name: printable(name),
            });
        }
        let version = self
            .info(name)
            .map_or_else(|_| String::from("(damaged)"), |info| info.version);
        let trash = format!(".removing-{name}");
        remove_if_exists(self.vfs, root, &trash).map_err(|e| fs(&self.path_of(&trash), e))?;
        // The commit.
        self.vfs
            .rename(root, name, root, &trash)
            .map_err(|e| fs(&self.path_of(name), e))?;
        let _ = self.vfs.sync(root);
        let _ = remove_if_exists(self.vfs, root, &trash);
        Ok(version)
    }

    /// Loads package `name` to run it: reads its manifest and module and checks them against
    /// the signature (see the module docs). With `trust`, the key must still be trusted.
    pub fn load(&self, name: &str, trust: Option<&TrustStore>) -> Result<LoadedPackage> {
        let (dir, generation) = self.active_generation(name)?;
        let manifest = read_in(self.vfs, dir, MANIFEST, MAX_MANIFEST_BYTES as u64)
            .map_err(|e| damaged(name, format!("{MANIFEST}: {e}")))?;
        let signed = self.installed_signature(name, dir, Check::Verify(trust))?;
        let info = self.describe(name, dir, generation, &manifest, &signed)?;
        let module = read_in(self.vfs, dir, MODULE, MAX_MODULE_BYTES as u64)
            .map_err(|e| damaged(name, format!("{MODULE}: {e}")))?;
        if let Some(statement) = &signed.statement {
            for (file, data) in [(MANIFEST, &manifest), (MODULE, &module)] {
                check_signed(name, statement, file, data)?;
            }
        }
        Ok(LoadedPackage {
            info,
            module,
            warning: signed.warning,
        })
    }

    /// Reads asset `asset` (`assets/...`) of package `name`, checked against the signature as
    /// [`Manager::load`] checks the module.
    pub fn read_asset(
        &self,
        name: &str,
        asset: &str,
        trust: Option<&TrustStore>,
    ) -> Result<Vec<u8>> {
        let (dir, _) = self.active_generation(name)?;
        super::archive::check_name(asset)
            .ok()
            .filter(|()| asset.starts_with(ASSETS))
            .ok_or_else(|| PackageError::Digest {
                file: printable(asset),
                reason: format!("not an asset of {name}"),
            })?;
        let signed = self.installed_signature(name, dir, Check::Verify(trust))?;
        let node = path::resolve(self.vfs, dir, dir, asset, path::Absolute::Reject, false)
            .map_err(|e| PackageError::Digest {
                file: asset.to_string(),
                reason: format!("not an asset of {name} ({e})"),
            })?;
        let data = read_node(self.vfs, node, MAX_PACKAGE_BYTES as u64)
            .map_err(|e| damaged(name, format!("{asset}: {e}")))?;
        if let Some(statement) = &signed.statement {
            check_signed(name, statement, asset, &data)?;
        }
        Ok(data)
    }

    /// The installed signature of package `name` (in `dir`): parsed, and with
    /// [`Check::Verify`] its signature checked. An unsigned package has no statement and a
    /// warning; so has a package whose key nothing here can check.
    fn installed_signature(&self, name: &str, dir: NodeId, check: Check<'_>) -> Result<Signed> {
        let Some(entry) = read_optional(self.vfs, dir, SIGNATURE, MAX_SIGNATURE_BYTES as u64)
            .map_err(|e| damaged(name, format!("{SIGNATURE}: {e}")))?
        else {
            return Ok(Signed {
                key: None,
                statement: None,
                recorded: None,
                warning: Some(format!(
                    "package {name} is not signed (installed with --allow-unsigned)"
                )),
            });
        };
        let block = SignatureBlock::parse(&entry)
            .map_err(|e| damaged(name, format!("{SIGNATURE}: {e}")))?;
        // The signer's public key as install recorded it (when it was trusted there).
        let recorded = read_optional(self.vfs, dir, SIGNER, 1024)
            .ok()
            .flatten()
            .and_then(|text| PublicKey::parse(&text).ok())
            .filter(|k| k.id == block.key);
        let mut warning = None;
        if let Check::Verify(trust) = check {
            if trust.is_some_and(|t| t.is_revoked(block.key)) {
                return Err(PackageError::Revoked { key: block.key });
            }
            let key = match trust {
                Some(trust) => trust.key(block.key),
                None => recorded.as_ref(),
            };
            match key {
                Some(key) if !key.verify(&super::sha256(block.statement), &block.signature) => {
                    return Err(damaged(
                        name,
                        format!(
                            "{SIGNATURE}: does not verify with key {} ({})",
                            key.id, key.name
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    warning = Some(format!(
                        "package {name} is signed by key {}, which is not trusted here: its signature is not checked",
                        block.key
                    ));
                }
            }
        }
        let statement = Statement::parse(block.statement)
            .map_err(|e| damaged(name, format!("{SIGNATURE}: {e}")))?;
        Ok(Signed {
            key: Some(block.key),
            statement: Some(statement),
            recorded,
            warning,
        })
    }
}

/// How much [`Manager::installed_signature`] checks.
#[derive(Clone, Copy)]
enum Check<'t> {
    /// Parse only: what `pkg-info` shows.
    Parse,
    /// Verify the signature, with the key from `trust` (refusing a revoked one), or without a
    /// trust store with the key install recorded.
    Verify(Option<&'t TrustStore>),
}

/// An installed package's signature as read.
struct Signed {
    key: Option<KeyId>,
    statement: Option<Statement>,
    /// The signer's key as install recorded it.
    recorded: Option<PublicKey>,
    /// Why the files are not checked (unsigned, or signed by a key nothing here has).
    warning: Option<String>,
}

/// Package `name` is installed but its files are not what install wrote.
fn damaged(name: &str, reason: String) -> PackageError {
    PackageError::Damaged {
        name: name.to_string(),
        reason,
    }
}

/// Checks `data`, the installed `file` of package `name`, against its signed digest.
fn check_signed(name: &str, statement: &Statement, file: &str, data: &[u8]) -> Result<()> {
    let signed = statement
        .files
        .iter()
        .find(|f| f.name == file)
        .ok_or_else(|| damaged(name, format!("{file} is not in its statement")))?;
    check_file(file, data, signed.size, &signed.sha256).map_err(|e| damaged(name, e.to_string()))
}

/// Whether `name` can be a package name (the manifest's rule): one path component, so it can
/// never name a staging entry or leave the root.
pub fn valid_package_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Writes the entries of `package` into the empty directory `dir` (at `at`, for errors).
fn write_contents(vfs: &dyn Vfs, dir: NodeId, package: &Verified<'_>, at: &str) -> Result<()> {
    let archive = &package.archive;
    let write = |dir: NodeId, name: &str, data: &[u8]| {
        write_new(vfs, dir, name, data).map_err(|e| fs(&format!("{at}/{name}"), e))
    };
    write(dir, MANIFEST, archive.manifest)?;
    write(dir, MODULE, archive.module)?;
    for asset in &archive.assets {
        // `assets/a/b.bin`: directories first (names were checked by the archive reader).
        let mut parent = dir;
        let mut components = asset.name.split('/').peekable();
        while let Some(component) = components.next() {
            if components.peek().is_none() {
                write(parent, component, asset.data)?;
                break;
            }
            parent = match vfs.lookup(parent, component) {
                Ok(node) => node,
                Err(VfsError::NotFound) => vfs
                    .create(parent, component, NodeKind::Dir)
                    .map_err(|e| fs(&format!("{at}/{}", asset.name), e))?,
                Err(e) => return Err(fs(&format!("{at}/{}", asset.name), e)),
            };
        }
    }
    if let Some(signature) = archive.signature {
        write(dir, SIGNATURE, signature)?;
    }
    if let Signer::Trusted(key) = &package.signer {
        write(dir, SIGNER, key.to_text().as_bytes())?;
    }
    Ok(())
}

/// Creates file `name` in `dir` with `data`, and syncs it.
fn write_new(
    vfs: &dyn Vfs,
    dir: NodeId,
    name: &str,
    data: &[u8],
) -> core::result::Result<(), VfsError> {
    let node = vfs.create(dir, name, NodeKind::File)?;
    let mut written = 0;
    while written < data.len() {
        let n = vfs.write_at(node, written as u64, &data[written..])?;
        if n == 0 {
            return Err(VfsError::NoSpace);
        }
        written += n;
    }
    vfs.sync(node)
}

fn read_node(vfs: &dyn Vfs, node: NodeId, max: u64) -> core::result::Result<Vec<u8>, VfsError> {
    let meta = vfs.stat(node)?;
    if meta.kind != NodeKind::File {
        return Err(VfsError::IsADirectory);
    }
    if meta.size > max {
        return Err(VfsError::NoSpace);
    }
    let mut out = Vec::new();
    // At most `max` (a package limit): the cast cannot truncate.
    out.try_reserve_exact(meta.size as usize)
        .map_err(|_| VfsError::NoSpace)?;
    out.resize(meta.size as usize, 0);
    let mut filled = 0;
    while filled < out.len() {
        let n = vfs.read_at(node, filled as u64, &mut out[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    out.truncate(filled);
    Ok(out)
}

fn read_in(
    vfs: &dyn Vfs,
    dir: NodeId,
    name: &str,
    max: u64,
) -> core::result::Result<Vec<u8>, VfsError> {
    read_node(vfs, vfs.lookup(dir, name)?, max)
}

fn read_optional(
    vfs: &dyn Vfs,
    dir: NodeId,
    name: &str,
    max: u64,
) -> core::result::Result<Option<Vec<u8>>, VfsError> {
    match vfs.lookup(dir, name) {
        Ok(node) => read_node(vfs, node, max).map(Some),
        Err(VfsError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every file under `dir` (named `prefix/...`) with its size.
fn walk_files(
    vfs: &dyn Vfs,
    dir: NodeId,
    prefix: &str,
    depth: usize,
    out: &mut Vec<(String, u64)>,
) -> core::result::Result<(), VfsError> {
    if depth > MAX_DEPTH {
        return Err(VfsError::Loop);
    }
    for entry in vfs.read_dir(dir)? {
        // By name, not `entry.ino`: a host directory's inode numbers are not its node ids.
        let node = vfs.lookup(dir, &entry.name)?;
        let name = format!("{prefix}/{}", entry.name);
        match entry.kind {
            NodeKind::Dir => walk_files(vfs, node, &name, depth + 1, out)?,
            _ => out.push((name, vfs.stat(node)?.size)),
        }
    }
    Ok(())
}

/// Removes `dir/name` and everything under it, if it exists.
fn remove_if_exists(vfs: &dyn Vfs, dir: NodeId, name: &str) -> core::result::Result<(), VfsError> {
    match vfs.lookup(dir, name) {
        Ok(node) => remove_tree(vfs, dir, name, node, 0),
        Err(VfsError::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

fn remove_tree(
    vfs: &dyn Vfs,
    dir: NodeId,
    name: &str,
    node: NodeId,
    depth: usize,
) -> core::result::Result<(), VfsError> {
    if depth > MAX_DEPTH {
        return Err(VfsError::Loop);
    }
    if vfs.stat(node)?.kind != NodeKind::Dir {
        return vfs.unlink(dir, name);
    }
    for entry in vfs.read_dir(node)? {
        let child = vfs.lookup(node, &entry.name)?;
        remove_tree(vfs, node, &entry.name, child, depth + 1)?;
    }
    vfs.rmdir(dir, name)
}

/// Removes the directory at absolute `path` (the root the manager created) if it is empty.
fn remove_path(vfs: &dyn Vfs, path: &str) -> core::result::Result<(), VfsError> {
    let top = vfs.root();
    match path::resolve_parent(vfs, top, top, path, path::Absolute::FromRoot)? {
        (parent, Some(name)) => vfs.rmdir(parent, &name),
        (_, None) => Ok(()),
    }
}
