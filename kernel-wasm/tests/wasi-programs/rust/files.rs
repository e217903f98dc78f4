//! WASI test program (Rust std, wasm32-wasip1): files, directories, readdir, rename/unlink, seek,
//! args, env, clocks, random and poll. Run as `files.wasm GUEST_DIR [args...]` with GUEST_DIR
//! preopened and GREETING set; exits with status 3 after printing "done".

use std::collections::hash_map::RandomState;
use std::fs::{self, OpenOptions};
use std::hash::BuildHasher;
use std::io::{Read, Seek, SeekFrom, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("args={args:?}");
    println!("GREETING={:?}", std::env::var("GREETING").ok());
    let root = args.first().cloned().unwrap_or_else(|| "/sandbox".into());
    let p = |name: &str| format!("{root}/{name}");

    fs::write(p("file.txt"), b"hello world\n").expect("write");
    let mut f = OpenOptions::new().append(true).open(p("file.txt")).expect("open append");
    f.write_all(b"more\n").expect("append");
    drop(f);
    let mut f = fs::File::open(p("file.txt")).expect("open");
    f.seek(SeekFrom::Start(6)).expect("seek");
    let mut word = [0u8; 5];
    f.read_exact(&mut word).expect("read");
    let tell = f.stream_position().expect("tell");
    let end = f.seek(SeekFrom::End(0)).expect("seek end");
    println!("read={} tell={tell} end={end}", String::from_utf8_lossy(&word));
    let meta = fs::metadata(p("file.txt")).expect("metadata");
    println!("size={} file={}", meta.len(), meta.is_file());

    fs::create_dir_all(p("dir/sub")).expect("mkdir");
    fs::rename(p("file.txt"), p("dir/moved.txt")).expect("rename");
    let mut names: Vec<String> = fs::read_dir(p("dir"))
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    println!("entries={names:?}");
    println!("contents={:?}", fs::read_to_string(p("dir/moved.txt")).expect("read back"));
    let err = fs::remove_dir(p("dir")).expect_err("non-empty");
    println!("remove non-empty dir errno: {:?}", err.raw_os_error());
    fs::remove_file(p("dir/moved.txt")).expect("unlink");
    fs::remove_dir_all(p("dir")).expect("rmdir");
    println!("exists after remove: {}", fs::metadata(p("dir")).is_ok());
    let escape = fs::read(p("../outside")).expect_err("escape");
    println!("escape errno: {:?}", escape.raw_os_error());

    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(10));
    println!("slept>=10ms: {}", start.elapsed() >= Duration::from_millis(10));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("realtime");
    println!("realtime after 2020: {}", now.as_secs() > 1_577_836_800);
    let a = RandomState::new().hash_one(1u8);
    let b = RandomState::new().hash_one(1u8);
    println!("random seeds differ: {}", a != b);
    println!("done");
    std::process::exit(3);
}
