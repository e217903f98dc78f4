//! Links the kernel with `link.ld` (load address, section order, stacks, image-size symbol), and
//! puts the package trust root into the image: the public key file `SIS_TRUST_ROOT` names
//! (default: the development key, `packages/keys/development.pub`) and the revocation list
//! `SIS_REVOKED` names (default: none). The kernel never reads its trust root from the initrd
//! whose packages it checks.
use std::path::PathBuf;

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rustc-link-arg=-T{dir}/link.ld");
    println!("cargo:rerun-if-changed=link.ld");

    println!("cargo:rerun-if-env-changed=SIS_TRUST_ROOT");
    println!("cargo:rerun-if-env-changed=SIS_REVOKED");
    let trust = std::env::var("SIS_TRUST_ROOT")
        .unwrap_or_else(|_| format!("{dir}/../packages/keys/development.pub"));
    println!("cargo:rerun-if-changed={trust}");
    let key = std::fs::read(&trust)
        .unwrap_or_else(|e| panic!("reading the trust root {trust} (SIS_TRUST_ROOT): {e}"));
    std::fs::write(out.join("trust-root.pub"), key).expect("writing OUT_DIR/trust-root.pub");
    let revoked = match std::env::var("SIS_REVOKED") {
        Ok(path) => {
            println!("cargo:rerun-if-changed={path}");
            std::fs::read(&path)
                .unwrap_or_else(|e| panic!("reading the revocation list {path} (SIS_REVOKED): {e}"))
        }
        Err(_) => Vec::new(),
    };
    std::fs::write(out.join("revoked"), revoked).expect("writing OUT_DIR/revoked");
}
