//! System errors of workspace file operations as errors a client can act on: a missing
//! file is NOT_FOUND, an escape attempt or a bad path BAD_USER_INPUT, a clash CONFLICT
//! with its reason, anything else internal (the detail goes to the log only).

use rustix::io::Errno;

use crate::error::{AppError, reasons};

/// Maps a system error to what the client can act on.
pub(crate) fn fail(e: Errno) -> AppError {
    let conflict = AppError::conflict_because;
    match e {
        Errno::NOENT => AppError::NotFound("file"),
        Errno::XDEV => AppError::bad_input("path leads outside the workspace"),
        Errno::LOOP => AppError::bad_input("too many levels of symbolic links"),
        Errno::NOTDIR => AppError::bad_input("a component of the path is not a directory"),
        Errno::NAMETOOLONG => AppError::bad_input("path or name too long"),
        Errno::ISDIR => AppError::bad_input("path is a directory"),
        Errno::EXIST => conflict(reasons::ALREADY_EXISTS, "something already exists at that path"),
        Errno::NOTEMPTY => conflict(reasons::NOT_EMPTY, "directory is not empty; pass recursive: true"),
        Errno::NOSPC | Errno::DQUOT => conflict(reasons::OUT_OF_SPACE, "the workspace is out of space"),
        other => AppError::Internal(anyhow::anyhow!("workspace file operation: {other}")),
    }
}

/// Maps a failed write's error like any other system error (a full disk is OUT_OF_SPACE,
/// not an internal error).
pub(crate) fn write_failed(e: std::io::Error) -> AppError {
    match e.raw_os_error() {
        Some(code) => fail(Errno::from_raw_os_error(code)),
        None => AppError::from(e),
    }
}
