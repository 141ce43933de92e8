// The shared library and the extension's SQL objects must be of the same version: a library built for 1.0
// reads catalog columns that a database still at 0.1 (new library installed, ALTER EXTENSION UPDATE not yet
// run) does not have.
#pragma once

// Errors (55000) unless pg_extension.extversion of backupkit equals the version this library was built for
// (BK_EXTVERSION, from backupkit.control). Checked once per backend; a mismatch is not cached, so that after
// ALTER EXTENSION backupkit UPDATE the same session passes. Does nothing when the extension is absent.
void bk_check_extension_version(void);
