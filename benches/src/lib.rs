//! The benchmarks of `tracing-logbook` live under `benches/benches/`: the production
//! path against its peers (`production.rs`) and the single pieces (`format.rs`,
//! `file.rs`, `notify.rs`, `crossed.rs`). This library holds what they share.

use std::path::Path;

/// The lines in the regular files of `dir` (every subject's log files); links, such
/// as the stable name of our current file, are not counted a second time.
pub fn count_lines(dir: &Path) -> u64 {
    use std::io::Read;
    let mut n = 0;
    let mut buf = vec![0u8; 1 << 16];
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        if entry.file_type().is_ok_and(|t| t.is_symlink()) {
            continue;
        }
        let Ok(mut file) = std::fs::File::open(entry.path()) else {
            continue;
        };
        while let Ok(len @ 1..) = file.read(&mut buf) {
            n += buf[..len].iter().filter(|&&b| b == b'\n').count() as u64;
        }
    }
    n
}
