//! Writes the seed corpora of the fuzz targets to `fuzz/corpus/TARGET/` (checked in): small,
//! valid inputs of each format, from which the fuzzer mutates. Run from `fuzz/`:
//! `cargo +nightly run --example make_seeds`. Deterministic: rerunning it gives the same files.

use std::fs;
use std::path::Path;

use kernel_wasm::llm::Config;
use kernel_wasm::package::archive::header;
use kernel_wasm::package::pack::{pack, sign};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    fs::create_dir_all(&dir).expect("corpus directory");
    fs::write(dir.join(name), bytes).expect("seed written");
}

/// Bytes from a xorshift generator: seeds for the targets that decode structure from raw bytes.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn fixture(name: &str) -> Vec<u8> {
    wat::parse_file(format!("../kernel-wasm/tests/fixtures/{name}.wat")).expect("fixture")
}

/// One entry of a cpio newc archive.
fn cpio_entry(out: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]) {
    let fields = [
        1,
        mode,
        0,
        0,
        1,
        0,
        data.len() as u32,
        0,
        0,
        0,
        0,
        name.len() as u32 + 1,
        0,
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out.extend_from_slice(data);
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

/// A ustar archive of `files`.
fn ustar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        out.extend_from_slice(&header(name, data.len() as u64));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// A safetensors file of f32 tensors.
fn safetensors(tensors: &[(&str, [usize; 2], Vec<f32>)]) -> Vec<u8> {
    let mut header = String::from("{");
    let mut offset = 0;
    for (i, (name, shape, data)) in tensors.iter().enumerate() {
        let end = offset + data.len() * 4;
        if i > 0 {
            header.push(',');
        }
        header += &format!(
            "\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{},{}],\"data_offsets\":[{offset},{end}]}}",
            shape[0], shape[1]
        );
        offset = end;
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    for (_, _, data) in tensors {
        for v in data {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

fn main() {
    // Modules: small fixtures that print, loop, trap, recurse, grow tables and memory.
    for name in [
        "hello",
        "arith",
        "loop",
        "trap",
        "recurse",
        "big_ops",
        "table_bomb",
        "memory_bomb",
        "read_stdin",
        "wasi_env_clock_random",
        "start_exit7",
    ] {
        write("module_run", name, &fixture(name));
    }
    for i in 0..4 {
        write("differential", &format!("noise{i}"), &noise(i + 1, 512));
    }

    // Packages: one signed with the fuzz key, one unsigned.
    let manifest = br#"name = "seed"
version = "1.2.3"
description = "a seed package"
capabilities = ["file:read"]
"#;
    let unsigned = pack(
        manifest,
        &fixture("hello"),
        &[("assets/readme.txt", b"hello")],
    )
    .expect("packs");
    let signed = sign(&unsigned, &kernel_wasm_fuzz::seed_key()).expect("signs");
    write("wap_verify", "signed.wap", &signed);
    write("wap_verify", "unsigned.wap", &unsigned);

    write(
        "manifest",
        "minimal.toml",
        b"name = \"a\"\nversion = \"0.1.0\"\n",
    );
    write("manifest", "seed.toml", manifest);
    write(
        "manifest",
        "good.toml",
        &fs::read("../kernel-wasm/tests/fixtures/manifests/good.toml").expect("good.toml"),
    );

    for i in 0..4 {
        write("wasi_memfs", &format!("noise{i}"), &noise(10 + i, 256));
        write("wasi_hostdir", &format!("noise{i}"), &noise(10 + i, 256));
    }

    // Agent programs: 17-byte instructions (opcode, four u32 arguments).
    let ins = |op: u8, a: u32, b: u32, c: u32, d: u32| -> Vec<u8> {
        let mut v = vec![op];
        for x in [a, b, c, d] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v
    };
    let program: Vec<u8> = [
        ins(1, 0, 0, 0, 0),    // spawn an interpreter with every capability
        ins(3, 2, 0, 200, 0),  // send it the start of this program
        ins(8, 2, 0, 40, 0),   // log part of the program
        ins(7, 0, 0, 0, 0),    // tell the host its id
        ins(6, 0, 100, 0, 10), // wait 10 ms for a message
        ins(9, 3, 0, 0, 0),    // exit 3
    ]
    .concat();
    write("agent_abi", "spawn_send_log", &program);
    write("agent_abi", "noise", &noise(20, 340));

    write(
        "shell_line",
        "tour",
        b"help\nls /\ncat /etc/motd\nwasm-run /bin/hello.wasm\nwasm-run --invoke add /bin/hello.wasm 2 3\nstats\nagent-spawn /agents/done.wasm\nagent-run\nagent-list\nagent-kill 1\npkg-list\nllm-info\nnet-info\nexit 3\n",
    );
    write(
        "shell_line",
        "quotes",
        b"echo \"a b\" 'c d' e\\ f\nls \"/no such\"\n",
    );

    let mut cpio = Vec::new();
    cpio_entry(&mut cpio, "bin", 0o040755, b"");
    cpio_entry(&mut cpio, "bin/hello.wasm", 0o100644, &fixture("hello"));
    cpio_entry(&mut cpio, "etc/motd", 0o100644, b"welcome\n");
    cpio_entry(&mut cpio, "TRAILER!!!", 0, b"");
    write("initrd_cpio", "small.cpio", &cpio);

    // A tiny llama2.c checkpoint: dim 8, hidden 16, 1 layer, 2 heads, 2 kv heads, 16 tokens,
    // context 8, shared classifier.
    let config = Config::from_header([8, 16, 1, 2, 2, 16, 8]).expect("tiny shape");
    let size = config.file_size().expect("its size");
    let mut checkpoint: Vec<u8> = config
        .to_header()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let floats = noise(30, size - checkpoint.len());
    checkpoint.extend(
        floats
            .chunks(4)
            .flat_map(|c| (f32::from(c[0]) / 255.0 - 0.5).to_le_bytes()),
    );
    checkpoint.truncate(size);
    write("llm_checkpoint", "tiny.bin", &checkpoint);

    // A 16-token tokenizer: bytes of single letters, then a few merges.
    let mut tokenizer = 16u16.to_le_bytes().to_vec();
    tokenizer.extend_from_slice(&3i32.to_le_bytes());
    for (i, piece) in [
        "<unk>", "<s>", "</s>", " ", "a", "b", "c", "o", "n", "e", "on", "ce", " a", "one", "once",
        "\n",
    ]
    .iter()
    .enumerate()
    {
        tokenizer.extend_from_slice(&(i as f32).to_le_bytes());
        tokenizer.extend_from_slice(&(piece.len() as i32).to_le_bytes());
        tokenizer.extend_from_slice(piece.as_bytes());
    }
    write("llm_tokenizer", "tiny.bin", &tokenizer);

    // A rank-2 adapter on one o_proj of a stories260K-shaped model.
    let config_json =
        br#"{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["o_proj"]}"#;
    let module = "base_model.model.model.layers.0.self_attn.o_proj";
    let a = format!("{module}.lora_A.weight");
    let b = format!("{module}.lora_B.weight");
    let weights = safetensors(&[
        (&a, [2, 64], (0..128).map(|i| i as f32 / 128.0).collect()),
        (&b, [64, 2], (0..128).map(|i| -(i as f32) / 128.0).collect()),
    ]);
    let mut split = (config_json.len() as u16).to_le_bytes().to_vec();
    split.extend_from_slice(config_json);
    split.extend_from_slice(&weights);
    write("llm_peft", "pair.bin", &split);
    write(
        "llm_peft",
        "archive.tar",
        &ustar(&[
            ("adapter_config.json", config_json),
            ("adapter_model.safetensors", &weights),
        ]),
    );
    println!("seed corpora written to fuzz/corpus/");
}
