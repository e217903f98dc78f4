//! `bench --llm --quick DIR` in the shell: one row of JSON per case of group `llm`, in the
//! order of `LLM_CASES`, a `missing` row for a model file DIR lacks, and in each row the hash of
//! the greedy tokens — the same as computing them directly, which is what lets `cargo xtask
//! bench` check that the kernel computed the same text as the host. (Timings are not checked:
//! speed belongs to the benchmarks.)

mod common;

use std::sync::Arc;

use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::llm::Weights;
use kernel_wasm::shell::bench_llm::{case_state, greedy_positions, LLM_CASES, RUNTIME};
use kernel_wasm::{Shell, ShellStatus};

#[test]
fn quick_llm_rows_hash_the_tokens_the_engine_computes() {
    let model = common::llm_file("stories260K.bin");
    let console = Arc::new(CaptureConsole::default());
    let platform = platform_with_console(console.clone());
    kernel_wasm::vfs::write_file(&*platform.vfs, "/m/stories260K.bin", &model).unwrap();
    let mut shell = Shell::new(platform);
    assert_eq!(
        shell.execute("bench --llm --quick /m/"),
        ShellStatus::Continue
    );
    let out = console.text();
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r["case"].as_str().unwrap()).collect();
    let expected: Vec<&str> = LLM_CASES.iter().map(|c| c.name).collect();
    assert_eq!(names, expected, "{out}");
    let weights = Weights::from_bytes(&model).unwrap();
    for (row, case) in rows.iter().zip(LLM_CASES) {
        assert_eq!(row["group"], "llm", "{row}");
        if case.name == "tinystories" {
            // Not in /m: a row saying so (quotes in the reason would break the JSON line).
            let missing = row["missing"].as_str().unwrap();
            assert!(missing.contains("/m/tinystories/model.bin"), "{missing}");
            continue;
        }
        assert_eq!(row["runtime"], RUNTIME, "{row}");
        assert_eq!(row["unit"], "tok/s", "{row}");
        assert!(row["value"].as_f64().unwrap() > 0.0, "{row}");
        if case.name.starts_with("stories260K") {
            let mut state = case_state(case, &weights).unwrap();
            let hash = greedy_positions(&weights, &mut state, case.quick_positions).unwrap();
            assert_eq!(row["tokens"], format!("{hash:#010x}"), "{row}");
        }
    }
}
