//! Who this process is, as leases and upload journals name their writer.

/// `host pid N`: enough for an operator to find the process that holds a lease.
pub fn this_writer() -> String {
    let mut name = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
    let rc = unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) };
    let host = if rc == 0 {
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        String::from_utf8_lossy(&name[..end]).into_owned()
    } else {
        "unknown host".to_string()
    };
    format!("{host} pid {}", std::process::id())
}
