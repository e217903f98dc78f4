//! Where module start-up time goes, phase by phase (`cargo xtask bench` measures the total):
//! `cargo run --release -p kernel-wasm --example startup_profile -- target/bench/wasm/hello_go.wasm`.

use std::time::Instant;

use kernel_wasm::{InstanceConfig, ModuleInfo, Runtime, RuntimeConfig};

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: startup_profile MODULE.wasm");
    let bytes = std::fs::read(&path).expect("read the module");
    let rt = Runtime::new(RuntimeConfig::default());
    let platform = kernel_wasm::hosted::platform();
    let runs = 15;
    let mut phases: Vec<(&str, Vec<f64>)> =
        ["info", "sha256", "wasmi", "load", "instantiate", "raw-inst"]
            .iter()
            .map(|p| (*p, Vec::new()))
            .collect();
    for _ in 0..runs {
        let t = Instant::now();
        let _ = ModuleInfo::read(&bytes).expect("module info");
        phases[0].1.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let _ = kernel_wasm::module::sha256(&bytes);
        phases[1].1.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let _ = wasmi::Module::new(rt.engine(), &bytes[..]).expect("wasmi module");
        phases[2].1.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let module = rt.load(&bytes, Some("m")).expect("load");
        phases[3].1.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let _ = rt
            .instantiate(&module, InstanceConfig::new(platform.clone()))
            .expect("instantiate");
        phases[4].1.push(t.elapsed().as_secs_f64() * 1e3);
        let raw = wasmi::Module::new(rt.engine(), &bytes[..]).expect("wasmi module");
        let t = Instant::now();
        let mut store = wasmi::Store::new(rt.engine(), ());
        store.set_fuel(u64::MAX).unwrap();
        let mut linker = wasmi::Linker::<()>::new(rt.engine());
        for import in raw.imports() {
            if let wasmi::ExternType::Func(ty) = import.ty() {
                let _ = linker.func_new(import.module(), import.name(), ty.clone(), |_, _, _| {
                    Err(wasmi::Error::new("stub"))
                });
            }
        }
        let _ = linker
            .instantiate_and_start(&mut store, &raw)
            .expect("raw instantiate");
        phases[5].1.push(t.elapsed().as_secs_f64() * 1e3);
    }
    for (name, mut v) in phases {
        v.sort_by(f64::total_cmp);
        println!(
            "{name:<12} median {:>8.3} ms  min {:>8.3} ms",
            v[v.len() / 2],
            v[0]
        );
    }
}
