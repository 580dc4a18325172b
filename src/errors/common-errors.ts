import { MkError } from './mk-error.js';

/** Not inside a Git work tree, or mk is not initialised there. */
export class NotARepositoryError extends MkError {
  constructor(message: string, hint?: string) {
    super('ENOTREPO', message, { hint });
  }
}

/** A pointer file that claims to be one but cannot be parsed or fails validation. */
export class PointerError extends MkError {
  constructor(file: string, problem: string) {
    super('EPOINTER', `${file}: invalid mk pointer: ${problem}`, {
      hint: `restore it with 'git checkout -- ${file}' or re-create it with 'mk add'`,
      data: { file },
    });
  }
}

/** A path that leaves the repository (../, absolute, or through a symlink). */
export class UnsafePathError extends MkError {
  constructor(path: string, why: string) {
    super('EUNSAFEPATH', `refusing path '${path}': ${why}`, { data: { path } });
  }
}

/** Bytes that do not match the digest they were stored or served under. */
export class DigestMismatchError extends MkError {
  constructor(what: string, expected: string, actual: string) {
    super('EDIGEST', `${what}: content does not match its digest (expected ${expected}, got ${actual})`, {
      hint: "the corrupt copy was discarded; run 'mk fetch' to get a good copy from a remote",
      data: { expected, actual },
    });
  }
}

/**
 * A descriptor (a pointer, a manifest, a file list) whose size contradicts the content its
 * digest names: the content is good, whatever recorded the size is wrong.
 */
export class WrongSizeError extends MkError {
  constructor(what: string, recorded: number, actual: number, hint?: string) {
    super('ESIZE', `${what}: recorded as ${recorded} bytes, but the content with this digest is ${actual} bytes`, {
      hint: hint ?? "the pointer or manifest that names it is damaged: take a good one from another revision ('git checkout <rev> -- <pointer>') or re-create it with 'mk add'",
      data: { recorded, actual },
    });
  }
}

/** Content that the store does not hold. */
export class NotFoundError extends MkError {
  constructor(what: string, hint?: string) {
    super('ENOTFOUND', what, { hint });
  }
}

/** Workspace data that would be lost by the requested operation. */
export class UnsavedChangesError extends MkError {
  constructor(paths: string[]) {
    const shown = paths.slice(0, 5).join(', ') + (paths.length > 5 ? ` and ${paths.length - 5} more` : '');
    super('EUNSAVED', `unsaved changes would be overwritten: ${shown}`, {
      hint: "save them with 'mk add <path>' (or commit), or discard them with --force",
      data: { paths },
    });
  }
}

/** Another mk process holds the repository lock. */
export class LockedError extends MkError {
  constructor(lockPath: string, holder: string) {
    super('ELOCKED', `another mk process holds the lock ${lockPath} (${holder})`, {
      hint: 'wait for it to finish; if no mk process is running, remove the lock file',
    });
  }
}

/** Bad command-line input or configuration. */
export class UsageError extends MkError {
  constructor(message: string, hint?: string) {
    super('EUSAGE', message, { hint });
  }
}

/** A configuration file that cannot be read. */
export class ConfigError extends MkError {
  constructor(file: string, problem: string) {
    super('ECONFIG', `${file}: ${problem}`, { data: { file } });
  }
}

/** A git command failed. */
export class GitError extends MkError {
  constructor(message: string, hint?: string) {
    super('EGIT', message, { hint });
  }
}

/** A pointer file left with merge conflict markers: both sides changed the same artifact. */
export class PointerConflictError extends MkError {
  constructor(file: string) {
    super('ECONFLICT', `${file}: merge conflict: both branches changed this tracked artifact`, {
      hint: `keep one side with 'git checkout --ours -- ${file}' or 'git checkout --theirs -- ${file}', then 'mk checkout' and 'git add ${file}'; or save a merged version of the data with 'mk add' (a folder: pick each conflicting file with 'mk checkout --ours|--theirs -- <file>' first)`,
      data: { file },
    });
  }
}
