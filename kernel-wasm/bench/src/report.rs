//! Turning one run's [`Results`] into the three outputs: the console table, `results.json` (the row
//! contract other tools read) and `docs/benchmarks.md` (with machine info and the project's targets).
//! Every ratio is computed here from figures of the same run.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use crate::{compute, Opts, Results};

/// Groups in report order (the Markdown report gives `kernel` a section of its own, after these).
const GROUPS: &[&str] = &[
    "compute", "hostcall", "wasi", "startup", "agents", "packages", "net", "llm",
];
/// Runtime columns in report order (`kernel`: the bare-metal kernel under QEMU, group `net`;
/// `host` and `qemu-tcg`: the LLM engine on this machine and in the kernel, group `llm`).
const RUNTIMES: &[&str] = &[
    "kernel-wasm",
    "wasmi",
    "wasmtime",
    "kernel",
    "native",
    "direct",
    "host",
    "qemu-tcg",
];

/// `(numerator, denominator)` ratio columns of a group.
fn ratios(group: &str) -> &'static [(&'static str, &'static str)] {
    match group {
        "compute" => &[
            ("kernel-wasm", "wasmi"),
            ("wasmi", "native"),
            ("wasmtime", "native"),
        ],
        "hostcall" => &[("kernel-wasm", "wasmi"), ("wasmtime", "wasmi")],
        "wasi" => &[("kernel-wasm", "native")],
        "startup" => &[("kernel-wasm", "wasmi"), ("wasmtime", "wasmi")],
        "kernel" => &[("kernel-wasm", "wasmi")],
        "net" => &[("kernel-wasm", "native"), ("kernel", "native")],
        "packages" => &[("kernel-wasm", "direct")],
        "llm" => &[("host", "qemu-tcg")],
        _ => &[],
    }
}

/// What the report says about the machine and toolchains.
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub date: String,
    pub rustc: String,
    pub os: String,
    /// `/proc/loadavg` when the report is written: the machine may be shared, and load is noise.
    pub load: String,
    pub versions: Vec<(String, String)>,
    pub toolchains: Vec<String>,
}

impl Machine {
    pub fn detect(opts: &Opts) -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let rustc =
            std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
                .arg("--version")
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_else(|| "unknown".into());
        let os = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|r| format!("{} {}", std::env::consts::OS, r.trim()))
            .unwrap_or_else(|_| std::env::consts::OS.into());
        let lock = include_str!("../Cargo.lock");
        let versions = ["wasmi", "wasmtime", "wat"]
            .iter()
            .filter_map(|name| lock_version(lock, name).map(|v| (name.to_string(), v)))
            .collect();
        let toolchains = std::fs::read_to_string(opts.wasm_dir().join("toolchains.txt"))
            .map(|s| {
                s.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let load = std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "unknown".into());
        Machine {
            cpu,
            cores,
            date: utc_now(),
            rustc,
            os,
            load,
            versions,
            toolchains,
        }
    }
}

/// The version of package `name` in a Cargo.lock (the first entry).
fn lock_version(lock: &str, name: &str) -> Option<String> {
    let needle = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == needle {
            return lines
                .next()?
                .strip_prefix("version = \"")?
                .strip_suffix('"')
                .map(str::to_string);
        }
    }
    None
}

/// The current UTC time as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

fn fmt_value(v: f64) -> String {
    if v >= 1000.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 0.1 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

/// One group's figures as a grid: header row, then one row per case.
fn group_grid(results: &Results, group: &str) -> Option<Vec<Vec<String>>> {
    let rows: Vec<_> = results.rows.iter().filter(|r| r.group == group).collect();
    if rows.is_empty() {
        return None;
    }
    let runtimes: Vec<&str> = RUNTIMES
        .iter()
        .copied()
        .filter(|rt| rows.iter().any(|r| r.runtime == *rt))
        .collect();
    let ratio_cols: Vec<_> = ratios(group)
        .iter()
        .filter(|(a, b)| runtimes.contains(a) && runtimes.contains(b))
        .collect();
    let mut header = vec!["case".to_string(), "unit".to_string()];
    header.extend(runtimes.iter().map(|r| r.to_string()));
    header.extend(ratio_cols.iter().map(|(a, b)| format!("{a} / {b}")));
    let mut grid = vec![header];
    let mut cases: Vec<&str> = Vec::new();
    for r in &rows {
        if !cases.contains(&r.case.as_str()) {
            cases.push(&r.case);
        }
    }
    for case in cases {
        let unit = rows
            .iter()
            .find(|r| r.case == case)
            .map(|r| r.unit)
            .unwrap_or("");
        let mut line = vec![case.to_string(), unit.to_string()];
        for rt in &runtimes {
            line.push(
                results
                    .value(group, case, rt)
                    .map(fmt_value)
                    .unwrap_or_else(|| "—".into()),
            );
        }
        for (a, b) in &ratio_cols {
            line.push(
                match (results.value(group, case, a), results.value(group, case, b)) {
                    (Some(x), Some(y)) if y > 0.0 => format!("{:.2}×", x / y),
                    _ => "—".into(),
                },
            );
        }
        grid.push(line);
    }
    Some(grid)
}

fn render_text(grid: &[Vec<String>]) -> String {
    let cols = grid[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|c| grid.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in grid.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let pad = widths[c] - cell.chars().count();
                if c < 2 {
                    format!("{cell}{}", " ".repeat(pad))
                } else {
                    format!("{}{cell}", " ".repeat(pad))
                }
            })
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  "));
        if i == 0 {
            let _ = writeln!(
                out,
                "  {}",
                widths
                    .iter()
                    .map(|w| "-".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("  ")
            );
        }
    }
    out
}

fn render_md(grid: &[Vec<String>]) -> String {
    let mut out = String::new();
    for (i, row) in grid.iter().enumerate() {
        let _ = writeln!(out, "| {} |", row.join(" | "));
        if i == 0 {
            let aligns: Vec<&str> = (0..row.len())
                .map(|c| if c < 2 { "---" } else { "---:" })
                .collect();
            let _ = writeln!(out, "| {} |", aligns.join(" | "));
        }
    }
    out
}

/// The console table: every group, its figures and ratios, and its notes.
pub fn table(results: &Results) -> String {
    let mut out = String::from("\nkernel-wasm benchmarks (times: median, lower is better; MiB/s, ops/s: higher is better)\n");
    for group in GROUPS.iter().chain(&["kernel"]) {
        let _ = writeln!(out, "\n[{group}]");
        if let Some(grid) = group_grid(results, group) {
            out.push_str(&render_text(&grid));
        }
        for (_, note) in results.notes.iter().filter(|(g, _)| g == group) {
            let _ = writeln!(out, "  note: {note}");
        }
    }
    out.push('\n');
    for target in targets(results) {
        let _ = writeln!(
            out,
            "target: {} — {} — {}",
            target.name, target.measured, target.status
        );
    }
    out
}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `results.json`: a list of `{"group", "case", "runtime", "value", "unit"}` rows.
pub fn write_json(path: &Path, results: &Results) -> Result<()> {
    let mut out = String::from("[\n");
    for (i, r) in results.rows.iter().enumerate() {
        let value = if r.value.is_finite() {
            format!("{}", r.value)
        } else {
            "null".into()
        };
        let _ = write!(
            out,
            "  {{\"group\": \"{}\", \"case\": \"{}\", \"runtime\": \"{}\", \"value\": {value}, \"unit\": \"{}\"}}",
            json_escape(r.group),
            json_escape(&r.case),
            json_escape(r.runtime),
            json_escape(r.unit)
        );
        out.push_str(if i + 1 < results.rows.len() {
            ",\n"
        } else {
            "\n"
        });
    }
    out.push_str("]\n");
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

struct Target {
    name: &'static str,
    measured: String,
    status: String,
}

fn status(ok: bool) -> String {
    if ok { "met" } else { "NOT met" }.into()
}

fn unavailable_reason(results: &Results, group: &str, prefix: &str) -> String {
    results
        .notes
        .iter()
        .find(|(g, n)| *g == group && n.starts_with(prefix))
        .map(|(_, n)| n.clone())
        .unwrap_or_else(|| "not measured".into())
}

/// The project's performance targets and where this run stands against each.
fn targets(results: &Results) -> Vec<Target> {
    let mut out = Vec::new();

    // Judged on the per-repetition ratios (each kernel-wasm run next to its wasmi run), which drift in
    // machine load cannot skew the way it can skew a ratio of two separately taken medians.
    let compute_ratios: Vec<(&str, f64)> = results.compute_paired.clone();
    out.push(if compute_ratios.is_empty() {
        Target {
            name: "compute: kernel-wasm ≤ 1.05× raw wasmi",
            measured: unavailable_reason(results, "compute", "kernel-wasm unavailable"),
            status: "not measured".into(),
        }
    } else {
        let (worst_case, worst) =
            compute_ratios
                .iter()
                .copied()
                .fold(("", 0.0), |a, b| if b.1 > a.1 { b } else { a });
        let geo = (compute_ratios.iter().map(|(_, r)| r.ln()).sum::<f64>()
            / compute_ratios.len() as f64)
            .exp();
        Target {
            name: "compute: kernel-wasm ≤ 1.05× raw wasmi",
            measured: format!(
                "per-repetition ratio, median per case: geomean {geo:.3}×, worst {worst:.3}× ({worst_case}); spread in the compute notes"
            ),
            status: status(worst <= 1.05),
        }
    });

    out.push(
        match (
            results.value("hostcall", "trivial_call", "kernel-wasm"),
            results.value("hostcall", "trivial_call", "wasmi"),
        ) {
            (Some(k), Some(w)) => Target {
                name: "host call ≤ 1.2× raw wasmi",
                measured: format!("{:.2}× ({k:.1} ns vs {w:.1} ns)", k / w),
                status: status(k / w <= 1.2),
            },
            _ => Target {
                name: "host call ≤ 1.2× raw wasmi",
                measured: unavailable_reason(results, "hostcall", "kernel-wasm unavailable"),
                status: "not measured".into(),
            },
        },
    );

    for (case, name, unit, limit) in [
        (
            "round_trip",
            "agent round trip ≤ 1 µs on the host",
            "µs",
            1.0,
        ),
        ("idle_agent_memory", "≤ 80 KiB per idle agent", "KiB", 80.0),
    ] {
        out.push(match results.value("agents", case, "kernel-wasm") {
            Some(v) => Target {
                name,
                measured: format!("{v:.3} {unit}"),
                status: status(v <= limit),
            },
            None => Target {
                name,
                measured: "not measured".into(),
                status: "not measured".into(),
            },
        });
    }

    for (case, name) in [
        (
            "verify_install",
            "package verify + install ≤ 1.1× SHA-256 + Ed25519 (host)",
        ),
        (
            "verify_install_kernel",
            "package verify + install ≤ 1.1× SHA-256 + Ed25519 (kernel)",
        ),
    ] {
        out.push(
            match (
                results.value("packages", case, "kernel-wasm"),
                results.value("packages", case, "direct"),
            ) {
                (Some(k), Some(d)) if d > 0.0 => Target {
                    name,
                    measured: format!("{:.3}× ({k:.2} ms vs {d:.2} ms)", k / d),
                    status: status(k / d <= 1.1),
                },
                _ => Target {
                    name,
                    measured: unavailable_reason(results, "packages", "not measured"),
                    status: "not measured".into(),
                },
            },
        );
    }

    out.push(match results.value("llm", "stories260K", "host") {
        Some(v) => Target {
            name: "llm: stories260K ≥ 4,500 tok/s on the host (llama2.c run.c, gcc -O3)",
            measured: format!("{v:.0} tok/s"),
            status: status(v >= 4500.0),
        },
        None => Target {
            name: "llm: stories260K ≥ 4,500 tok/s on the host (llama2.c run.c, gcc -O3)",
            measured: unavailable_reason(results, "llm", "stories260K"),
            status: "not measured".into(),
        },
    });

    out.push(match results.value("startup", "go_hello", "kernel-wasm") {
        Some(ms) => Target {
            name: "Go module start ≤ 30 ms",
            measured: format!("{ms:.2} ms (load + instantiate)"),
            status: status(ms <= 30.0),
        },
        None => {
            let mut why =
                unavailable_reason(results, "startup", "go_hello on kernel-wasm unavailable");
            if why == "not measured" {
                // The Go toolchain itself was unavailable.
                why = unavailable_reason(results, "startup", "go_hello unavailable");
            }
            if let Some(w) = results.value("startup", "go_hello", "wasmi") {
                let _ = write!(why, " (raw wasmi, for context: {w:.2} ms)");
            }
            Target {
                name: "Go module start ≤ 30 ms",
                measured: why,
                status: "not measured".into(),
            }
        }
    });
    out
}

/// `docs/benchmarks.md`.
pub fn write_markdown(
    path: &Path,
    opts: &Opts,
    machine: &Machine,
    results: &Results,
    elapsed: Duration,
) -> Result<()> {
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Generated by `cargo xtask bench{}` — do not edit by hand; rerun it. All figures come from one run on \
         one machine, and every ratio compares figures of that run. Times are medians of {} repetitions after \
         a warm-up (lower is better); MiB/s and ops/s are throughputs (higher is better). Raw data: \
         `target/bench/results.json`.\n",
        if opts.quick { " --quick" } else { "" },
        opts.runs()
    );
    let _ = writeln!(md, "## Machine\n");
    let _ = writeln!(md, "- Date: {}", machine.date);
    let _ = writeln!(
        md,
        "- CPU: {} ({} cores available)",
        machine.cpu, machine.cores
    );
    let _ = writeln!(md, "- OS: {}", machine.os);
    let _ = writeln!(
        md,
        "- Load average (1, 5, 15 min) at the end of the run: {} — on a shared machine, compare the \
         per-repetition spread in the compute notes before reading much into a few percent",
        machine.load
    );
    let _ = writeln!(md, "- rustc: {}", machine.rustc);
    for (name, version) in &machine.versions {
        let _ = writeln!(md, "- {name} {version}");
    }
    for t in &machine.toolchains {
        let _ = writeln!(md, "- {t}");
    }
    let _ = writeln!(
        md,
        "- Run: {}, {:.0} s\n",
        if opts.quick { "quick" } else { "full" },
        elapsed.as_secs_f64()
    );

    let _ = writeln!(md, "## Targets\n");
    let _ = writeln!(md, "| Target | This run | Status |\n| --- | --- | --- |");
    for t in targets(results) {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            t.name,
            t.measured.replace('|', "\\|"),
            t.status
        );
    }
    md.push('\n');

    let intro = |group: &str| -> &'static str {
        match group {
            "compute" => "The workloads of `kernel-wasm/bench/workloads` (one `no_std` source, compiled to wasm32 and natively). `kernel-wasm` runs through the Runtime/Instance layer with fuel on and a huge budget; `wasmi` is raw wasmi 2 with the same engine configuration (fuel on); `wasmtime` is Cranelift with its default configuration (no fuel); `native` is the same Rust compiled for the host. Milliseconds per call.",
            "hostcall" => "A WAT guest calling a trivial host function in a loop. Nanoseconds per call, loop overhead included.",
            "wasi" => "WASI file I/O into the in-memory file system (`MemFs`).",
            "startup" => "Load + instantiate of real toolchain output (sources in `kernel-wasm/bench/startup/`). Milliseconds.",
            "agents" => "The agent scheduler (`kernel_wasm::agents::System`) on the host: message round trip between two agents, message throughput, heap per idle agent, and a ring of 10 000 agents (kernel-wasm only; no other runtime has agents).",
            "net" => "TCP echo over loopback (`kernel-wasm/bench/src/net.rs`): the same Rust client against a native std echo server, the WAT echo guest on kernel-wasm with a preopened host socket (what `kwasm run --tcplisten` does), and the same guest in the kernel under QEMU (smoltcp over virtio-net, QEMU user networking, a port forwarded on 127.0.0.1). Round-trip latency of 64-byte messages (µs, lower is better) and throughput of 64 KiB writes echoed back (MB/s, higher is better).",
            "packages" => "Verifying and installing a signed package (`kernel_wasm::package`, what `pkg-install` does) against SHA-256 + Ed25519 of the same bytes done directly (`direct`), on the host and, as `verify_install_kernel`, in the kernel under QEMU TCG (its `bench-pkg` shell command). Milliseconds.",
            "llm" => "The LLM engine (`kernel-wasm/src/llm/`, docs/llm.md): tokens per second, greedy from BOS, one thread, every position computed (run.c's timing loop), the median of the runs; `host` on this machine, `qemu-tcg` the kernel's `bench --llm` under QEMU TCG in this run (its greedy tokens must hash the same as the host's). `lora8_cost`: the extra time per token of one rank-8 LoRA adapter on all 7 projections of every layer.",
            _ => "",
        }
    };
    for group in GROUPS {
        let _ = writeln!(md, "## {group}\n\n{}\n", intro(group));
        if *group == "compute" {
            for c in compute::CASES {
                let _ = writeln!(md, "- `{}`: {}", c.name, c.what);
            }
            md.push('\n');
        }
        if let Some(grid) = group_grid(results, group) {
            md.push_str(&render_md(&grid));
            md.push('\n');
        }
        for (_, note) in results.notes.iter().filter(|(g, _)| g == group) {
            let _ = writeln!(md, "- {note}");
        }
        md.push('\n');
    }

    kernel_section(&mut md, results);

    let _ = writeln!(md, "## Checksums\n\nEvery runtime of a case must return the same checksum, or the run fails.\n");
    let _ = writeln!(
        md,
        "| group | case | checksum | runtimes |\n| --- | --- | --- | --- |"
    );
    for (group, case, sum, runtimes) in &results.checksums {
        let _ = writeln!(
            md,
            "| {group} | {case} | `{sum:#010x}` | {} |",
            runtimes.join(", ")
        );
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, md).with_context(|| format!("writing {}", path.display()))
}

/// "Kernel (QEMU TCG)": the rows of group `kernel` (measured in the kernel during this run, see
/// `kernel.rs`) beside this run's host figures of the same runtime and case.
fn kernel_section(md: &mut String, results: &Results) {
    let _ = writeln!(md, "## Kernel (QEMU TCG)\n");
    let _ = writeln!(
        md,
        "The compute set run by the kernel's `bench` shell command (`kernel-wasm/src/shell/bench_cmd.rs`: the same \
         module, cases and sizes, kernel-wasm and raw wasmi, the platform's monotonic clock) on the bare-metal \
         aarch64 kernel under QEMU's TCG emulator, booted by `cargo xtask bench` in this run, beside this run's \
         host figures. Milliseconds per call.\n"
    );
    let rows: Vec<(String, &str, f64)> = results
        .rows
        .iter()
        .filter(|r| r.group == "kernel")
        .map(|r| (r.case.clone(), r.runtime, r.value))
        .collect();
    let notes = |md: &mut String| {
        for (_, note) in results.notes.iter().filter(|(g, _)| *g == "kernel") {
            let _ = writeln!(md, "- {note}");
        }
        md.push('\n');
    };
    if rows.is_empty() {
        notes(md);
        return;
    }
    let _ = writeln!(
        md,
        "| case | runtime | kernel (TCG) | host | kernel / host |\n| --- | --- | ---: | ---: | ---: |"
    );
    let mut factors = Vec::new();
    for (case, runtime, kernel) in &rows {
        let host = results.value("compute", case, runtime);
        let (host_text, factor) = match host {
            Some(h) => {
                factors.push(kernel / h);
                (fmt_value(h), format!("{:.0}×", kernel / h))
            }
            None => ("–".into(), "–".into()),
        };
        let _ = writeln!(
            md,
            "| {case} | {runtime} | {} | {host_text} | {factor} |",
            fmt_value(*kernel)
        );
    }
    md.push('\n');
    if !factors.is_empty() {
        let geo = (factors.iter().map(|f| f.ln()).sum::<f64>() / factors.len() as f64).exp();
        let (lo, hi) = factors
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), f| (lo.min(*f), hi.max(*f)));
        let _ = writeln!(
            md,
            "- measured TCG slowdown (kernel / host, same runtime and case): geomean {geo:.0}×, range {lo:.0}–{hi:.0}×"
        );
    }
    let mut ratios = Vec::new();
    for (case, runtime, kernel) in &rows {
        if *runtime != "kernel-wasm" {
            continue;
        }
        let kernel_wasmi = rows
            .iter()
            .find(|(c, r, _)| c == case && *r == "wasmi")
            .map(|r| r.2);
        let host = (
            results.value("compute", case, "kernel-wasm"),
            results.value("compute", case, "wasmi"),
        );
        if let (Some(kw), (Some(hk), Some(hw))) = (kernel_wasmi, host) {
            ratios.push(format!(
                "{case} {:.2}× in the kernel, {:.2}× on the host",
                kernel / kw,
                hk / hw
            ));
        }
    }
    if !ratios.is_empty() {
        let _ = writeln!(
            md,
            "- kernel-wasm / raw wasmi: {} (figures taken under emulation on a shared machine: read differences \
             of 10–30% as noise)",
            ratios.join("; ")
        );
    }
    notes(md);
}
