//! Group `kernel`: the compute set measured inside the bare-metal kernel under QEMU, in this run.
//!
//! This binary cannot boot QEMU itself (it measures the host), so `cargo xtask bench` boots the
//! kernel first with `<out>/wasm` as `/bench`, types its `bench` shell command
//! (`kernel-wasm/src/shell/bench_cmd.rs`: the same workloads module, cases and sizes, on
//! kernel-wasm and raw wasmi), and saves the rows the kernel printed as `<out>/kernel.jsonl` — or
//! why it could not as `<out>/kernel.unavailable`. Here they become rows of group `kernel`, with
//! the runtime and case names of group `compute`, so the report can set each beside the host's.

use crate::{compute, Opts, Results};

/// The runtimes the kernel's `bench` command measures.
const RUNTIMES: [&str; 2] = ["kernel-wasm", "wasmi"];

pub fn run(opts: &Opts, results: &mut Results) {
    let unavailable = opts.out.join("kernel.unavailable");
    if let Ok(reason) = std::fs::read_to_string(&unavailable) {
        results.note("kernel", format!("not measured: {}", reason.trim()));
        return;
    }
    let file = opts.out.join("kernel.jsonl");
    let Ok(text) = std::fs::read_to_string(&file) else {
        results.note(
            "kernel",
            format!(
                "not measured: no {} (`cargo xtask bench` boots the kernel and writes it)",
                file.display()
            ),
        );
        return;
    };
    if let Some(how) = text.lines().find_map(|l| json_str(l, "how")) {
        results.note("kernel", how.to_string());
    }
    let mut missing = Vec::new();
    for case in compute::CASES {
        for runtime in RUNTIMES {
            let value = text.lines().find_map(|l| {
                let matches = json_str(l, "group") == Some("compute")
                    && json_str(l, "case") == Some(case.name)
                    && json_str(l, "runtime") == Some(runtime)
                    && json_str(l, "unit") == Some("ms");
                matches.then(|| json_num(l, "value")).flatten()
            });
            match value {
                Some(ms) if ms.is_finite() && ms > 0.0 => {
                    results.row("kernel", case.name, runtime, ms, "ms")
                }
                _ => missing.push(format!("{} on {runtime}", case.name)),
            }
        }
    }
    // `bench-pkg`: group `packages`, set beside the host's rows as case `verify_install_kernel`.
    for runtime in ["kernel-wasm", "direct"] {
        let value = text.lines().find_map(|l| {
            let matches = json_str(l, "group") == Some("packages")
                && json_str(l, "runtime") == Some(runtime)
                && json_str(l, "unit") == Some("ms");
            matches.then(|| json_num(l, "value")).flatten()
        });
        match value {
            Some(ms) if ms.is_finite() && ms > 0.0 => {
                results.row("packages", "verify_install_kernel", runtime, ms, "ms")
            }
            _ => missing.push(format!("bench-pkg on {runtime}")),
        }
    }
    if !missing.is_empty() {
        results.note(
            "kernel",
            format!(
                "incomplete: the kernel printed no figure for {} (its console: {})",
                missing.join(", "),
                opts.out.join("kernel-console.txt").display()
            ),
        );
    }
}

/// The string value of `"key": "..."` in one line of `results.json`-style JSON (what the kernel's
/// `bench` command prints: flat objects, no escapes).
pub fn json_str<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("\"{key}\": \""))? + key.len() + 5;
    let len = line[start..].find('"')?;
    Some(&line[start..start + len])
}

/// The number value of `"key": N` in one line of `results.json`-style JSON.
pub fn json_num(line: &str, key: &str) -> Option<f64> {
    let start = line.find(&format!("\"{key}\": "))? + key.len() + 4;
    let end = line[start..].find([',', '}'])?;
    line[start..start + end].trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rows_the_kernel_prints() {
        let line = kernel_wasm::shell::bench_cmd::json_row("compute", "fib30", "wasmi", 12.5, "ms");
        assert_eq!(json_str(&line, "group"), Some("compute"));
        assert_eq!(json_str(&line, "case"), Some("fib30"));
        assert_eq!(json_str(&line, "runtime"), Some("wasmi"));
        assert_eq!(json_num(&line, "value"), Some(12.5));
        assert_eq!(json_str(&line, "missing"), None);
        assert_eq!(json_num("{\"value\": x}", "value"), None);
    }
}
