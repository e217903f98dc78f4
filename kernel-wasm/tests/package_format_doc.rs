//! The worked example of `docs/package-format.md` is what the code produces: the hex dump in the
//! document, rebuilt from the same manifest, module and development key, byte for byte, and it
//! verifies against the development public key.

use std::path::Path;

use kernel_wasm::package::{pack, verify, SecretKey, TrustStore};

fn repo(path: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The bytes of an `xxd -a` dump (a `*` line repeats the previous line until the next offset).
fn undump(text: &str) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    let mut last: Vec<u8> = Vec::new();
    let mut pending_repeat = false;
    for line in text.lines() {
        if line == "*" {
            pending_repeat = true;
            continue;
        }
        let (offset, rest) = line.split_once(": ").expect("offset: hex");
        let offset = usize::from_str_radix(offset, 16).unwrap();
        if pending_repeat {
            while out.len() < offset {
                out.extend_from_slice(&last);
            }
            pending_repeat = false;
        }
        assert_eq!(out.len(), offset, "dump offsets are contiguous");
        let hex: String = rest[..39].chars().filter(|c| !c.is_whitespace()).collect();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        out.extend_from_slice(&bytes);
        last = bytes;
    }
    out
}

#[test]
fn the_worked_example_is_what_the_code_writes() {
    let doc = repo("docs/package-format.md");
    let start = doc.find("$ xxd -a tiny.wap\n").expect("the example's dump") + 18;
    let end = start + doc[start..].find("```").unwrap();
    let documented = undump(&doc[start..end]);

    let key = SecretKey::parse(repo("packages/keys/development.key").as_bytes()).unwrap();
    let unsigned = pack::pack(
        b"name = \"tiny\"\nversion = \"1.0.0\"\n",
        b"\0asm\x01\0\0\0",
        &[],
    )
    .unwrap();
    let built = pack::sign(&unsigned, &key).unwrap();
    assert_eq!(documented.len(), 4096);
    assert_eq!(
        built, documented,
        "regenerate the example in docs/package-format.md"
    );

    let mut trust = TrustStore::new();
    trust
        .add_key_file(repo("packages/keys/development.pub").as_bytes())
        .unwrap();
    let package = verify(&documented, &trust, false).unwrap();
    assert_eq!(package.manifest.name, "tiny");
}
