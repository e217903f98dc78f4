//! `kwasm pkg ...`: keys, building, signing, verifying, installing and running packages. Wiring
//! only: the format, the verifier and the manager are `kernel_wasm::package`.
//!
//! Every refusal is one line on stderr (`kwasm: ...`) and exit status 1; a guest run by
//! `pkg run` exits as under `kwasm run`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use kernel_wasm::package::{
    self, pack, report, verify, InstallOptions, Manager, PackageError, SecretKey, Signer,
    TrustStore,
};
use kernel_wasm::vfs::hostdir::HostDir;
use kernel_wasm::wasi::Preopen;
use kernel_wasm::{CallOutcome, Error, InstanceConfig, Runtime};

use crate::cli::{PkgCommand, TrustArgs};
use crate::run::{dir_spec, fail, one_line, usage};
use crate::EXIT_ERROR;

/// Prints one refusal line and returns status 1.
fn refuse(message: &str) -> ExitCode {
    eprintln!("kwasm: {}", one_line(message));
    ExitCode::from(EXIT_ERROR)
}

fn warn(message: &str) {
    eprintln!("kwasm: warning: {}", one_line(message));
}

/// A package refusal about `what` (a file or a package name).
fn package_error(what: &str, error: PackageError) -> Error {
    Error::Package {
        package: what.to_string(),
        error,
    }
}

fn read(path: &Path, max: u64) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let what = path.display().to_string();
    let io = |e: std::io::Error| Error::Config {
        what: what.clone(),
        message: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(Error::Config {
            what: what.clone(),
            message: format!("larger than {max} bytes"),
        });
    }
    Ok(bytes)
}

/// Writes `data` to `path` through a temporary file and a rename, so a reader never sees half a
/// file and a failure leaves the old one.
fn write_atomic(path: &Path, data: &[u8]) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Config {
        what: path.display().to_string(),
        message: e.to_string(),
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, data).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// The trust store of `--trust`/`--revoked`.
pub fn trust_store(trust: &[PathBuf], revoked: &[PathBuf]) -> Result<TrustStore, Error> {
    let mut store = TrustStore::new();
    let key_error = |path: &Path, reason: String| Error::Config {
        what: path.display().to_string(),
        message: reason,
    };
    let add_key = |store: &mut TrustStore, path: &Path| -> Result<(), Error> {
        let text = read(path, 1024)?;
        store
            .add_key_file(&text)
            .map(|_| ())
            .map_err(|reason| key_error(path, reason))
    };
    let add_revoked = |store: &mut TrustStore, path: &Path| -> Result<(), Error> {
        let text = read(path, package::trust::MAX_REVOCATION_BYTES as u64)?;
        store
            .add_revocation_list(&text)
            .map(|_| ())
            .map_err(|reason| key_error(path, reason))
    };
    for path in trust {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| Error::Config {
                    what: path.display().to_string(),
                    message: e.to_string(),
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for entry in entries {
                let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.ends_with(".pub") {
                    add_key(&mut store, &entry)?;
                } else if name == "revoked" {
                    add_revoked(&mut store, &entry)?;
                }
            }
        } else {
            add_key(&mut store, path)?;
        }
    }
    for path in revoked {
        add_revoked(&mut store, path)?;
    }
    Ok(store)
}

fn trust_of(args: &TrustArgs) -> Result<TrustStore, Error> {
    trust_store(&args.trust, &args.revoked)
}

/// The install root as a file system (created when `create`).
fn root_fs(root: &Path, create: bool) -> Result<HostDir, Error> {
    if create {
        std::fs::create_dir_all(root).map_err(|e| Error::Config {
            what: root.display().to_string(),
            message: e.to_string(),
        })?;
    }
    HostDir::new(root).map_err(|error| Error::Fs {
        path: root.display().to_string(),
        error,
    })
}

pub fn dispatch(command: PkgCommand) -> ExitCode {
    let result = match command {
        PkgCommand::Keygen { out, name } => keygen(&out, &name),
        PkgCommand::Build { dir, output } => build(&dir, &output),
        PkgCommand::Sign { package, key } => sign(&package, &key),
        PkgCommand::Verify { package, trust } => verify_cmd(&package, &trust),
        PkgCommand::Install {
            package,
            root,
            trust,
            force,
        } => install(&package, &root, &trust, force),
        PkgCommand::List { root } => list(&root),
        PkgCommand::Info { name, root } => info(&name, &root),
        PkgCommand::Uninstall { name, root } => uninstall(&name, &root),
        PkgCommand::Run {
            name,
            root,
            trust,
            revoked,
            dirs,
            fuel,
            stats,
            args,
        } => {
            for spec in &dirs {
                if let Err(message) = dir_spec(spec) {
                    return usage(&message);
                }
            }
            return match run(&name, &root, &trust, &revoked, &dirs, fuel, stats, &args) {
                Ok(code) => code,
                Err(e) => fail(&e),
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => refuse(&e.to_string()),
    }
}

fn keygen(out: &Path, name: &str) -> Result<(), Error> {
    let mut seed = [0u8; 32];
    let platform = kernel_wasm::hosted::platform();
    platform.entropy.fill(&mut seed);
    let key = SecretKey::from_seed(name, seed).map_err(|reason| Error::Config {
        what: "--name".into(),
        message: reason,
    })?;
    std::fs::create_dir_all(out).map_err(|e| Error::Config {
        what: out.display().to_string(),
        message: e.to_string(),
    })?;
    let secret = out.join(format!("{name}.key"));
    let public = out.join(format!("{name}.pub"));
    for path in [&secret, &public] {
        if path.exists() {
            return Err(Error::Config {
                what: path.display().to_string(),
                message: "exists already; not overwriting a key".into(),
            });
        }
    }
    write_secret(&secret, key.to_text().as_bytes())?;
    write_atomic(&public, key.public().to_text().as_bytes())?;
    println!("key {} ({name})", key.id);
    println!("secret key: {}", secret.display());
    println!("public key: {}", public.display());
    Ok(())
}

/// Writes a secret key readable by its owner only.
fn write_secret(path: &Path, data: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(data))
        .map_err(|e| Error::Config {
            what: path.display().to_string(),
            message: e.to_string(),
        })
}

/// The files under `dir/assets`, as (`assets/...` name, content), refusing what a package
/// cannot hold (symlinks, special files, names the format does not allow).
fn collect_assets(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), Error> {
    let config = |path: &Path, message: String| Error::Config {
        what: path.display().to_string(),
        message,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| config(dir, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| config(dir, e.to_string()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            return Err(config(&path, "the file name is not UTF-8".into()));
        };
        let name = format!("{prefix}/{name}");
        let kind = entry
            .file_type()
            .map_err(|e| config(&path, e.to_string()))?;
        if kind.is_dir() {
            collect_assets(&path, &name, out)?;
        } else if kind.is_file() {
            let data = read(&path, package::MAX_PACKAGE_BYTES as u64)?;
            out.push((name, data));
        } else {
            return Err(config(
                &path,
                "not a regular file or directory (a package holds no links or devices)".into(),
            ));
        }
    }
    Ok(())
}

fn build(dir: &Path, output: &Path) -> Result<(), Error> {
    let manifest = read(
        &dir.join("manifest.toml"),
        kernel_wasm::manifest::MAX_MANIFEST_BYTES as u64,
    )?;
    let module = read(&dir.join("module.wasm"), package::MAX_MODULE_BYTES as u64)?;
    let mut assets = Vec::new();
    let assets_dir = dir.join("assets");
    if assets_dir.is_dir() {
        collect_assets(&assets_dir, "assets", &mut assets)?;
    }
    let borrowed: Vec<(&str, &[u8])> = assets
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let what = dir.display().to_string();
    let wap = pack::pack(&manifest, &module, &borrowed).map_err(|e| package_error(&what, e))?;
    write_atomic(output, &wap)?;
    println!("{}: {} bytes, unsigned", output.display(), wap.len());
    Ok(())
}

fn sign(path: &Path, key: &Path) -> Result<(), Error> {
    let key_text = read(key, 1024)?;
    let key = SecretKey::parse(&key_text).map_err(|reason| Error::Config {
        what: key.display().to_string(),
        message: reason,
    })?;
    let what = path.display().to_string();
    let bytes = read(path, package::MAX_PACKAGE_BYTES as u64)?;
    let signed = pack::sign(&bytes, &key).map_err(|e| package_error(&what, e))?;
    write_atomic(path, &signed)?;
    println!("{what}: signed by key {} ({})", key.id, key.name);
    Ok(())
}

fn signer_text(signer: &Signer) -> String {
    match signer {
        Signer::Trusted(key) => format!("signed by key {} ({})", key.id, key.name),
        Signer::Unverified { key: Some(key) } => format!("signed by untrusted key {key}"),
        Signer::Unverified { key: None } => "unsigned".into(),
    }
}

fn verify_cmd(path: &Path, trust: &TrustArgs) -> Result<(), Error> {
    let store = trust_of(trust)?;
    let what = path.display().to_string();
    let bytes = read(path, package::MAX_PACKAGE_BYTES as u64)?;
    let package =
        verify(&bytes, &store, trust.allow_unsigned).map_err(|e| package_error(&what, e))?;
    for warning in &package.warnings {
        warn(&format!("{what}: {warning}"));
    }
    println!(
        "{what}: {} {}, {}, {} bytes of content: verified",
        package.manifest.name,
        package.manifest.version,
        signer_text(&package.signer),
        package.content_size()
    );
    Ok(())
}

fn install(path: &Path, root: &Path, trust: &TrustArgs, force: bool) -> Result<(), Error> {
    let store = trust_of(trust)?;
    let what = path.display().to_string();
    let bytes = read(path, package::MAX_PACKAGE_BYTES as u64)?;
    let package =
        verify(&bytes, &store, trust.allow_unsigned).map_err(|e| package_error(&what, e))?;
    for warning in &package.warnings {
        warn(&format!("{what}: {warning}"));
    }
    let fs = root_fs(root, true)?;
    let manager = Manager::new(&fs, "/");
    let runtime = Runtime::default();
    let installed = manager
        .install(&package, &runtime, InstallOptions { force })
        .map_err(|e| package_error(&what, e))?;
    match installed.previous {
        Some(previous) => println!(
            "{} {} installed (was {previous}), {}",
            installed.name,
            installed.version,
            signer_text(&package.signer)
        ),
        None => println!(
            "{} {} installed, {}",
            installed.name,
            installed.version,
            signer_text(&package.signer)
        ),
    }
    Ok(())
}

fn list(root: &Path) -> Result<(), Error> {
    let packages = if root.is_dir() {
        let fs = root_fs(root, false)?;
        Manager::new(&fs, "/")
            .list()
            .map_err(|e| package_error(&root.display().to_string(), e))?
    } else {
        Vec::new()
    };
    print!("{}", report::list(&packages));
    Ok(())
}

fn info(name: &str, root: &Path) -> Result<(), Error> {
    let fs = root_fs(root, false)?;
    let info = Manager::new(&fs, "/")
        .info(name)
        .map_err(|e| package_error(name, e))?;
    print!(
        "{}",
        report::info(&info).replace(
            "installed in: /",
            &format!("installed in: {}/", root.display())
        )
    );
    Ok(())
}

fn uninstall(name: &str, root: &Path) -> Result<(), Error> {
    let fs = root_fs(root, false)?;
    let version = Manager::new(&fs, "/")
        .uninstall(name)
        .map_err(|e| package_error(name, e))?;
    println!("{name} {version} uninstalled");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn run(
    name: &str,
    root: &Path,
    trust: &[PathBuf],
    revoked: &[PathBuf],
    dirs: &[String],
    fuel: Option<u64>,
    stats: bool,
    args: &[String],
) -> Result<ExitCode, Error> {
    let store = if trust.is_empty() && revoked.is_empty() {
        None
    } else {
        Some(trust_store(trust, revoked)?)
    };
    let fs = root_fs(root, false)?;
    let loaded = Manager::new(&fs, "/")
        .load(name, store.as_ref())
        .map_err(|e| package_error(name, e))?;
    if let Some(warning) = &loaded.warning {
        warn(warning);
    }
    let manifest = &loaded.info.manifest;
    let runtime = Runtime::default();
    let module = runtime.load(&loaded.module, Some(name))?;
    let mut config = InstanceConfig::new(kernel_wasm::hosted::platform());
    let invoke = (manifest.entry != "_start").then(|| manifest.entry.clone());
    config.args = vec![name.to_string()];
    if invoke.is_none() {
        config.args.extend(args.iter().cloned());
    }
    for spec in dirs {
        let (host, guest) = dir_spec(spec).map_err(|message| Error::Config {
            what: "--dir".into(),
            message,
        })?;
        let dir = HostDir::new(host).map_err(|error| Error::Fs {
            path: format!("--dir {host}"),
            error,
        })?;
        config.preopens.push(Preopen::root(guest, Arc::new(dir)));
    }
    manifest.apply_to(&mut config);
    if fuel.is_some() {
        config.fuel = fuel;
    }
    let mut instance = runtime.instantiate(&module, config)?;
    let outcome = match &invoke {
        Some(func) => {
            let params: Vec<&str> = args.iter().map(String::as_str).collect();
            instance.call_with_text(func, &params)
        }
        None => instance.run_start(),
    };
    if stats {
        let s = instance.stats();
        eprintln!(
            "stats: fuel {} host-calls {} time {} us peak-memory {} bytes",
            s.fuel_consumed,
            s.host_calls,
            s.wall_ns / 1000,
            s.peak_memory_bytes
        );
    }
    match outcome? {
        CallOutcome::Returned(values) => {
            for v in values {
                println!("{v}");
            }
            Ok(ExitCode::SUCCESS)
        }
        CallOutcome::Exited(code) => Ok(ExitCode::from(code as u8)),
    }
}
