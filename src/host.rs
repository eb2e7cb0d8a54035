//! The machine's host name and the program's name, looked up once per process and
//! shared by every output that names them (syslog's HOSTNAME and APP-NAME, the
//! notifiers' `server.host` / `server_name`, the default log file name).

use std::sync::OnceLock;

/// The host name: `/proc/sys/kernel/hostname` (Linux), else `HOSTNAME`, else
/// `COMPUTERNAME` (Windows); `None` when none of them gives a non-empty name. Each
/// destination chooses its own placeholder for `None` (`-` in syslog, as RFC 5424 asks;
/// `localhost` in notifications).
pub(crate) fn hostname() -> Option<String> {
    static NAME: OnceLock<Option<String>> = OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .or_else(|| {
                std::env::var("HOSTNAME")
                    .ok()
                    .filter(|s| !s.trim().is_empty())
            })
            .or_else(|| {
                std::env::var("COMPUTERNAME")
                    .ok()
                    .filter(|s| !s.trim().is_empty())
            })
            .map(|s| s.trim().to_owned())
    })
    .clone()
}

/// The program's name: the executable's file name without its extension (`shop` for
/// `/srv/shop` and `shop.exe`); `None` when it cannot be known. Each use chooses its own
/// placeholder (`-` for syslog's APP-NAME, `app` for the default log file).
pub(crate) fn program_name() -> Option<String> {
    static NAME: OnceLock<Option<String>> = OnceLock::new();
    NAME.get_or_init(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .filter(|s| !s.is_empty())
    })
    .clone()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hostname_is_trimmed_and_stable() {
        let a = super::hostname();
        assert_eq!(a, super::hostname());
        if let Some(name) = a {
            assert!(!name.is_empty());
            assert_eq!(name.trim(), name);
        }
    }
}
