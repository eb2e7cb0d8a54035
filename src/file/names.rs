//! Daily file names and retention: the pure logic behind [`DailyFile`](crate::DailyFile).
//!
//! Names follow Logbook's `TimedRotatingFileHandler` (`{basename}-{date}{ext}`, with
//! `ext` the last extension as Python's `os.path.splitext` splits it):
//!
//! | configured path | file for 2026-11-23 | after size rollovers |
//! |---|---|---|
//! | `app.log` | `app-2026-11-23.log` | `app-2026-11-23.1.log`, `app-2026-11-23.2.log`, ... |
//! | `service` | `service-2026-11-23` | `service-2026-11-23.1`, ... |
//! | `app.log.txt` | `app.log-2026-11-23.txt` | `app.log-2026-11-23.1.txt`, ... |
//!
//! Unlike Logbook, a file belongs to a log only if its whole name has exactly this shape,
//! or this shape plus `.gz` for a compressed past day (`app-2026-11-23.log.gz`;
//! `app-notes.log` does not belong), and retention orders files by the date (and size
//! index) in the name, never by modification time.

use std::path::{Path, PathBuf};

use time::{Date, Month};

/// How the files of one log are named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileNames {
    dir: PathBuf,
    /// The file name without its last extension (`app` for `app.log`).
    stem: String,
    /// The last extension including its dot (`.log`), or empty.
    ext: String,
}

/// Why a configured path cannot name daily files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameError {
    /// The path ends in `/`, `..` or is empty.
    NoFileName,
    /// The file name is not valid UTF-8.
    NotUtf8,
}

impl NameError {
    pub(crate) fn message(self) -> &'static str {
        match self {
            NameError::NoFileName => "the path does not end in a file name",
            NameError::NotUtf8 => "the file name is not valid UTF-8",
        }
    }
}

/// Splits `name` as Python's `os.path.splitext` does: the last extension, unless the
/// only dots are leading ones (`.bashrc` has no extension).
pub(crate) fn split_ext(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot) if name[..dot].bytes().any(|b| b != b'.') => name.split_at(dot),
        _ => (name, ""),
    }
}

impl FileNames {
    /// The naming scheme for the log configured as `path` (`logs/app.log`).
    pub(crate) fn new(path: &Path) -> Result<FileNames, NameError> {
        let file_name = path.file_name().ok_or(NameError::NoFileName)?;
        let file_name = file_name.to_str().ok_or(NameError::NotUtf8)?;
        let (stem, ext) = split_ext(file_name);
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(FileNames {
            dir,
            stem: stem.to_owned(),
            ext: ext.to_owned(),
        })
    }

    /// The directory that holds the files.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file name for `date`; `index` 0 is the day's first file, 1.. the files
    /// started by size rollover.
    pub(crate) fn name(&self, date: Date, index: u32) -> String {
        let mut s = String::with_capacity(self.stem.len() + self.ext.len() + 16);
        s.push_str(&self.stem);
        s.push('-');
        push_date(&mut s, date);
        if index > 0 {
            s.push('.');
            s.push_str(&index.to_string());
        }
        s.push_str(&self.ext);
        s
    }

    /// The full path for `date` and `index`.
    pub(crate) fn path(&self, date: Date, index: u32) -> PathBuf {
        self.dir.join(self.name(date, index))
    }

    /// The date and index of a file name of this log, or `None` when the name is not
    /// exactly of this log's shape.
    pub(crate) fn parse(&self, file_name: &str) -> Option<(Date, u32)> {
        let rest = file_name.strip_prefix(self.stem.as_str())?;
        let rest = rest.strip_prefix('-')?;
        let rest = rest.strip_suffix(self.ext.as_str())?;
        if rest.len() < 10 || !rest.is_char_boundary(10) {
            return None;
        }
        let (date, tail) = rest.split_at(10);
        let date = parse_date(date)?;
        if tail.is_empty() {
            return Some((date, 0));
        }
        let digits = tail.strip_prefix('.')?;
        if digits.is_empty()
            || digits.len() > 9
            || digits.starts_with('0')
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        Some((date, digits.parse().ok()?))
    }
}

fn push_date(s: &mut String, date: Date) {
    use std::fmt::Write as _;
    let _ = write!(
        s,
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    );
}

/// Parses exactly `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &b[r];
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let year = num(0..4)?;
    let month = Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let day = u8::try_from(num(8..10)?).ok()?;
    Date::from_calendar_date(i32::try_from(year).ok()?, month, day).ok()
}

/// The suffix of a compressed file (`app-2026-11-23.log.gz`).
pub(crate) const GZ: &str = ".gz";

impl FileNames {
    /// As [`parse`](Self::parse), also for a compressed file's name (`.gz` added):
    /// the date, the index and whether it is compressed.
    pub(crate) fn parse_any(&self, file_name: &str) -> Option<(Date, u32, bool)> {
        match file_name.strip_suffix(GZ) {
            Some(plain) => self.parse(plain).map(|(d, i)| (d, i, true)),
            None => self.parse(file_name).map(|(d, i)| (d, i, false)),
        }
    }
}

/// One existing file of a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DatedFile {
    pub(crate) date: Date,
    pub(crate) index: u32,
    pub(crate) name: String,
    /// A compressed past day's file (`.gz`).
    pub(crate) compressed: bool,
}

/// The regular files of this log found in its directory (unordered). Unreadable
/// entries and non-UTF-8 names are skipped.
pub(crate) fn list(names: &FileNames) -> std::io::Result<Vec<DatedFile>> {
    list_with_foreign(names).map(|(files, _)| files)
}

/// As [`list`], and the names of this log's shape that hold something else: a symbolic
/// link (never followed, whatever it points at), a FIFO, socket, device or directory.
/// Those are never compressed or deleted.
pub(crate) fn list_with_foreign(
    names: &FileNames,
) -> std::io::Result<(Vec<DatedFile>, Vec<String>)> {
    let mut out = Vec::new();
    let mut foreign = Vec::new();
    for entry in std::fs::read_dir(names.dir())? {
        let Ok(entry) = entry else { continue };
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if let Some((date, index, compressed)) = names.parse_any(&name) {
            // The entry's own type (`lstat`): a link is not what it points at.
            match entry.file_type() {
                Ok(t) if t.is_file() => out.push(DatedFile {
                    date,
                    index,
                    name,
                    compressed,
                }),
                Ok(_) => foreign.push(name),
                Err(_) => {}
            }
        }
    }
    foreign.sort();
    Ok((out, foreign))
}

/// The highest size index of `date` among `files`, or 0.
pub(crate) fn last_index(files: &[DatedFile], date: Date) -> u32 {
    files
        .iter()
        .filter(|f| f.date == date)
        .map(|f| f.index)
        .max()
        .unwrap_or(0)
}

/// The files to delete so that only the newest `keep` days remain, newest judged by the
/// date in the name: a kept day keeps all its size pieces (`app-<date>.1.log`, ...),
/// compressed or not; a day counts once whether its files are compressed or not.
/// `keep == 0` keeps everything. `protect` (the file being written) is never selected.
pub(crate) fn select_for_deletion(
    files: Vec<DatedFile>,
    keep: usize,
    protect: Option<(Date, u32)>,
) -> Vec<DatedFile> {
    if keep == 0 {
        return Vec::new();
    }
    let mut days: Vec<Date> = files.iter().map(|f| f.date).collect();
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    let Some(&oldest_kept) = days.get(keep - 1) else {
        return Vec::new();
    };
    let mut old: Vec<DatedFile> = files
        .into_iter()
        .filter(|f| f.date < oldest_kept && (f.compressed || Some((f.date, f.index)) != protect))
        .collect();
    old.sort_by(|a, b| (a.date, a.index, &a.name).cmp(&(b.date, b.index, &b.name)));
    old
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn names(path: &str) -> FileNames {
        FileNames::new(Path::new(path)).unwrap()
    }

    #[test]
    fn names_follow_logbook() {
        // (configured path, index, expected file name) for 2026-11-23; the index-0 cases
        // are the golden_rotation.json naming cases.
        let cases = [
            ("app.log", 0, "app-2026-11-23.log"),
            ("service", 0, "service-2026-11-23"),
            ("app.log.txt", 0, "app.log-2026-11-23.txt"),
            ("logs/app.log", 0, "app-2026-11-23.log"),
            ("/var/log/my.app.log", 0, "my.app-2026-11-23.log"),
            (".hidden", 0, ".hidden-2026-11-23"),
            ("..x", 0, "..x-2026-11-23"),
            ("app.log", 1, "app-2026-11-23.1.log"),
            ("app.log", 12, "app-2026-11-23.12.log"),
            ("service", 2, "service-2026-11-23.2"),
            ("app.log.txt", 3, "app.log-2026-11-23.3.txt"),
        ];
        for (path, index, want) in cases {
            let n = names(path);
            assert_eq!(n.name(date!(2026 - 11 - 23), index), want, "{path} {index}");
            assert_eq!(
                n.parse(want),
                Some((date!(2026 - 11 - 23), index)),
                "{path} parses {want}"
            );
        }
    }

    #[test]
    fn directory_of_the_files() {
        assert_eq!(names("app.log").dir(), Path::new("."));
        assert_eq!(names("logs/app.log").dir(), Path::new("logs"));
        assert_eq!(
            names("/a/b/app.log").path(date!(2024 - 03 - 01), 0),
            Path::new("/a/b/app-2024-03-01.log")
        );
    }

    #[test]
    fn bad_paths() {
        assert_eq!(
            FileNames::new(Path::new("logs/..")),
            Err(NameError::NoFileName)
        );
        assert_eq!(FileNames::new(Path::new("")), Err(NameError::NoFileName));
        assert_eq!(FileNames::new(Path::new("/")), Err(NameError::NoFileName));
    }

    #[test]
    fn split_ext_like_python() {
        let cases = [
            ("app.log", ("app", ".log")),
            ("app", ("app", "")),
            ("app.log.txt", ("app.log", ".txt")),
            (".bashrc", (".bashrc", "")),
            ("..x", ("..x", "")),
            ("app.", ("app", ".")),
            ("a..b", ("a.", ".b")),
        ];
        for (name, want) in cases {
            assert_eq!(split_ext(name), want, "{name}");
        }
    }

    #[test]
    fn pattern_is_anchored() {
        let n = names("app.log");
        let d = date!(2024 - 01 - 01);
        let matching = [
            ("app-2024-01-01.log", Some((d, 0))),
            ("app-2024-01-01.1.log", Some((d, 1))),
            ("app-2024-01-01.10.log", Some((d, 10))),
            ("app-2024-02-29.log", Some((date!(2024 - 02 - 29), 0))),
        ];
        for (name, want) in matching {
            assert_eq!(n.parse(name), want, "{name}");
        }
        let unrelated = [
            "app-notes.log",
            "app-2024-01-01.log.gz",
            "app-2024-01-01.log.1",
            "app.log",
            "app.log.1",
            "other-2024-01-01.log",
            "app-2024-01-01.0.log",
            "app-2024-01-01.01.log",
            "app-2024-01-01..log",
            "app-2024-01-01.x.log",
            "app-2024-1-01.log",
            "app-2023-02-29.log",
            "app-2024-13-01.log",
            "app-2024-01-01-extra.log",
            "app-2024-01-01.txt",
            "xapp-2024-01-01.log",
            "app-2024-01-01.log~",
            "app-+024-01-01.log",
        ];
        for name in unrelated {
            assert_eq!(n.parse(name), None, "{name}");
        }
        let no_ext = names("service");
        assert_eq!(no_ext.parse("service-2024-01-01"), Some((d, 0)));
        assert_eq!(no_ext.parse("service-2024-01-01.3"), Some((d, 3)));
        assert_eq!(no_ext.parse("service-2024-01-01.gz"), None);
        assert_eq!(no_ext.parse("service-2024-01-01.log"), None);
        assert_eq!(no_ext.parse("service-notes"), None);
    }

    fn file(n: &FileNames, date: Date, index: u32) -> DatedFile {
        DatedFile {
            date,
            index,
            name: n.name(date, index),
            compressed: false,
        }
    }

    fn gz(n: &FileNames, date: Date, index: u32) -> DatedFile {
        DatedFile {
            date,
            index,
            name: n.name(date, index) + GZ,
            compressed: true,
        }
    }

    #[test]
    fn compressed_names_and_days() {
        let n = names("app.log");
        let d = date!(2024 - 03 - 01);
        assert_eq!(n.parse_any("app-2024-03-01.log.gz"), Some((d, 0, true)));
        assert_eq!(n.parse_any("app-2024-03-01.2.log.gz"), Some((d, 2, true)));
        assert_eq!(n.parse_any("app-2024-03-01.log"), Some((d, 0, false)));
        for other in [
            "app-2024-03-01.log.gz.tmp",
            "app-2024-03-01.gz",
            "app-2024-03-01.log.gz.gz",
        ] {
            assert_eq!(n.parse_any(other), None, "{other}");
        }
        // A day counts once, compressed or not, half compressed or not.
        let files = vec![
            gz(&n, date!(2024 - 02 - 27), 0),
            gz(&n, date!(2024 - 02 - 28), 0),
            file(&n, date!(2024 - 02 - 28), 1),
            file(&n, date!(2024 - 02 - 29), 0),
            file(&n, d, 0),
        ];
        assert_eq!(
            deleted(files.clone(), 3, Some((d, 0))),
            ["app-2024-02-27.log.gz"]
        );
        assert_eq!(
            deleted(files, 2, Some((d, 0))),
            [
                "app-2024-02-27.log.gz",
                "app-2024-02-28.1.log",
                "app-2024-02-28.log.gz"
            ]
        );
    }

    fn deleted(files: Vec<DatedFile>, keep: usize, protect: Option<(Date, u32)>) -> Vec<String> {
        let mut v: Vec<String> = select_for_deletion(files, keep, protect)
            .into_iter()
            .map(|f| f.name)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn retention_keeps_the_newest_days_with_all_their_pieces() {
        let n = names("app.log");
        let all = || {
            vec![
                file(&n, date!(2024 - 03 - 05), 0),
                file(&n, date!(2024 - 02 - 27), 0),
                file(&n, date!(2024 - 03 - 01), 0),
                file(&n, date!(2024 - 03 - 01), 2),
                file(&n, date!(2024 - 03 - 01), 1),
                file(&n, date!(2023 - 12 - 31), 0),
            ]
        };
        // (days kept, protect, expected deletions)
        type Case = (usize, Option<(Date, u32)>, Vec<&'static str>);
        let cases: Vec<Case> = vec![
            (0, None, vec![]),
            (4, None, vec![]),
            (100, None, vec![]),
            // Six files but four days: the 1st of March is one day in three pieces.
            (3, None, vec!["app-2023-12-31.log"]),
            (2, None, vec!["app-2023-12-31.log", "app-2024-02-27.log"]),
            (
                1,
                None,
                vec![
                    "app-2023-12-31.log",
                    "app-2024-02-27.log",
                    "app-2024-03-01.1.log",
                    "app-2024-03-01.2.log",
                    "app-2024-03-01.log",
                ],
            ),
            // The file being written survives even when older than the newest day.
            (
                1,
                Some((date!(2024 - 02 - 27), 0)),
                vec![
                    "app-2023-12-31.log",
                    "app-2024-03-01.1.log",
                    "app-2024-03-01.2.log",
                    "app-2024-03-01.log",
                ],
            ),
        ];
        for (keep, protect, want) in cases {
            assert_eq!(deleted(all(), keep, protect), want, "keep {keep}");
        }
    }

    #[test]
    fn last_index_of_a_date() {
        let n = names("app.log");
        let files = vec![
            file(&n, date!(2024 - 03 - 01), 0),
            file(&n, date!(2024 - 03 - 01), 3),
            file(&n, date!(2024 - 03 - 02), 7),
        ];
        assert_eq!(last_index(&files, date!(2024 - 03 - 01)), 3);
        assert_eq!(last_index(&files, date!(2024 - 03 - 02)), 7);
        assert_eq!(last_index(&files, date!(2024 - 03 - 03)), 0);
    }
}
